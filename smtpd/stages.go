package smtpd

import "strings"

// The protocol stages at which restrictions run. Each returns the reject
// reply, or "" to go on. With smtpd_delay_reject (the default) the
// client, HELO and sender restrictions run again at every RCPT TO, so
// that rejects are logged with the recipient and clients that do not
// expect a reject at connect time see it where they can cope.

func (s *session) newCheck() *check {
	return &check{ck: s.cfg.Checks, st: &s.st, ctx: s.ctx, log: s.logWhatsup}
}

// finalize turns a pending defer_if_permit into the reply when nothing
// rejected.
func finalize(c *check, status verdict) verdict {
	if status != reject && c.st.deferIfPermit.active {
		d := c.st.deferIfPermit
		return c.rejectf(d.class, d.code, d.dsn, "%s", d.text)
	}
	return status
}

func replyOf(st *checkState, v verdict) string {
	if v == reject {
		return st.reply
	}
	return ""
}

func (s *session) checkClient() string {
	st, c := &s.st, s.newCheck()
	st.deferIfPermit.active = false
	st.resetStage()
	status := dunno
	if steps := c.ck.lists[stageClient]; len(steps) > 0 {
		status = c.evalList(steps, st.namaddr(), classClient, stageInfo[stageClient].defACL)
	}
	st.deferPermitClient = st.deferIfPermit.active
	return replyOf(st, status)
}

func (s *session) checkHelo(helo string) string {
	st, c := &s.st, s.newCheck()
	saved := st.helo
	st.helo = helo
	defer func() { st.helo = saved }()
	st.deferIfPermit.active = st.deferPermitClient
	st.resetStage()
	status := dunno
	if steps := c.ck.lists[stageHelo]; len(steps) > 0 {
		status = c.evalList(steps, helo, classHelo, stageInfo[stageHelo].defACL)
	}
	st.deferPermitHelo = st.deferIfPermit.active
	return replyOf(st, status)
}

func (s *session) checkMail(sender string) string {
	st, c := &s.st, s.newCheck()
	savedHave, saved := st.haveSender, st.sender
	st.haveSender, st.sender = true, sender
	defer func() { st.haveSender, st.sender = savedHave, saved }()
	st.deferIfPermit.active = st.deferPermitClient || st.deferPermitHelo
	st.senderMapsChecked = false
	st.resetStage()
	status := dunno
	if steps := c.ck.lists[stageSender]; len(steps) > 0 {
		status = c.evalList(steps, sender, classSender, stageInfo[stageSender].defACL)
	}
	st.deferPermitSender = st.deferIfPermit.active
	if c.ck.RejectUnlistedSender && status != reject && !st.senderMapsChecked && !st.fx.discard && sender != "" {
		v, err := checkSenderMaps(c, sender)
		if err != nil {
			v = c.failure(err, sender)
		}
		status = v
	}
	return replyOf(st, status)
}

// delayed runs the client, HELO and sender restrictions at RCPT TO,
// VRFY and ETRN time (smtpd_delay_reject).
func (s *session) delayed(withSender bool) string {
	if !s.cfg.Checks.DelayReject {
		return ""
	}
	if r := s.checkClient(); r != "" {
		return r
	}
	if s.st.helo != "" {
		if r := s.checkHelo(s.st.helo); r != "" {
			return r
		}
	}
	if withSender && s.st.haveSender {
		if r := s.checkMail(s.st.sender); r != "" {
			return r
		}
	}
	return ""
}

func (s *session) checkRcpt(rcpt string) string {
	if strings.EqualFold(rcpt, "postmaster") {
		return ""
	}
	st := &s.st
	savedHave, saved := st.haveRcpt, st.recipient
	st.haveRcpt, st.recipient = true, rcpt
	defer func() { st.haveRcpt, st.recipient = savedHave, saved }()
	st.rcptMapsChecked = false
	if r := s.delayed(true); r != "" {
		return r
	}
	c := s.newCheck()
	st.deferIfPermit.active = st.deferPermitSender
	st.resetStage()
	order := []stage{stageRecipient, stageRelay}
	if c.ck.RelayBeforeRecipient {
		order = []stage{stageRelay, stageRecipient}
	}
	status := dunno
	for _, stg := range order {
		if steps := c.ck.lists[stg]; len(steps) > 0 {
			status = c.evalList(steps, rcpt, classRecipient, stageInfo[stg].defACL)
		}
		if status == reject {
			break
		}
	}
	status = finalize(c, status)
	if c.ck.RejectUnlistedRecipient && status != reject && !st.rcptMapsChecked && !st.fx.discard {
		v, err := checkRecipientMaps(c, rcpt)
		if err != nil {
			v = c.failure(err, rcpt)
		}
		status = v
	}
	return replyOf(st, status)
}

func (s *session) checkETRN(domain string) string {
	st := &s.st
	st.etrnName = domain
	defer func() { st.etrnName = "" }()
	if r := s.delayed(false); r != "" {
		return r
	}
	c := s.newCheck()
	st.deferIfPermit.active = st.deferPermitClient || st.deferPermitHelo
	st.resetStage()
	status := dunno
	if steps := c.ck.lists[stageETRN]; len(steps) > 0 {
		status = c.evalList(steps, domain, classETRN, stageInfo[stageETRN].defACL)
	}
	return replyOf(st, finalize(c, status))
}

// checkData runs smtpd_data_restrictions (stageData) or
// smtpd_end_of_data_restrictions (stageEOD). With several recipients no
// recipient is logged: the verdict is about all of them.
func (s *session) checkData(stg stage) string {
	st, c := &s.st, s.newCheck()
	steps := c.ck.lists[stg]
	if len(steps) == 0 {
		return ""
	}
	if st.rcptCount > 1 {
		savedHave := st.haveRcpt
		st.haveRcpt = false
		defer func() { st.haveRcpt = savedHave }()
	}
	st.deferIfPermit.active = false
	st.resetStage()
	name, class := "DATA", classData
	if stg == stageEOD {
		name, class = "END-OF-MESSAGE", classEOD
	}
	return replyOf(st, finalize(c, c.evalList(steps, name, class, "")))
}
