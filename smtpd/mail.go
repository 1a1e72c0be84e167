package smtpd

import (
	"strings"
	"time"

	"github.com/postern-mta/postern/internal/proto"
)

// MAIL FROM and RCPT TO.

func (s *session) mail(arg string) bool {
	if s.cfg.HeloRequired && s.st.helo == "" {
		s.reply("503 5.5.1 Error: send HELO/EHLO first")
		return false
	}
	if s.inTransaction() {
		s.reply("503 5.5.1 Error: nested MAIL command")
		return false
	}
	path, params, ok := splitPath(arg, "FROM:")
	if !ok {
		s.reply("501 5.5.4 Syntax: MAIL FROM:<address>")
		return false
	}
	sender, ok := extractAddress(path, true)
	if !ok {
		s.log.Warning("Illegal address syntax from %s in MAIL command: %s", s.clientLog(), printable(path, '?'))
		s.reply("501 5.1.7 Bad sender address syntax")
		return false
	}
	mp, bad := parseMailParams(params, !s.cfg.discarded("dsn"), s.cfg.SMTPUTF8)
	if bad != "" {
		s.reply("%s", bad)
		return false
	}
	if mp.sizeSet {
		s.msgSize = mp.size
	}
	if s.cfg.SMTPUTF8 && !mp.smtputf8 && !isASCII(sender) {
		s.reply("553 5.6.7 Must declare SMTPUTF8 to send unicode address")
		return false
	}
	if s.cfg.MessageSizeLimit > 0 && s.msgSize > s.cfg.MessageSizeLimit {
		// Postfix keeps the size of a refused MAIL: a later MAIL without
		// SIZE= in the session is refused the same way, until RSET.
		reply := "552 5.3.4 Message size exceeds fixed limit"
		if s.cfg.SoftBounce {
			reply = "452 4.3.4 Message size exceeds fixed limit"
		}
		s.logWhatsup("reject", reply)
		s.reply("%s", reply)
		return false
	}
	if s.cfg.Restrictions && !s.cfg.Checks.DelayReject {
		if reply := s.checkMail(sender); reply != "" {
			s.st.fx = effects{}
			s.reply("%s", reply)
			return false
		}
	}
	s.st.haveSender, s.st.sender = true, sender
	s.st.smtputf8 = mp.smtputf8
	s.encoding, s.dsnRet, s.envID = mp.encoding, mp.ret, mp.envID
	s.arrival = time.Now()
	s.overshoot = 0
	s.reply("250 2.1.0 Ok")
	return true
}

func (s *session) rcpt(arg string) bool {
	if !s.inTransaction() {
		s.reply("503 5.5.1 Error: need MAIL command")
		return false
	}
	if s.bdat != nil {
		s.reply("503 5.5.1 Error: RCPT after BDAT")
		return false
	}
	path, params, ok := splitPath(arg, "TO:")
	if !ok {
		s.reply("501 5.5.4 Syntax: RCPT TO:<address>")
		return false
	}
	rcpt, ok := extractAddress(path, false)
	if !ok {
		s.log.Warning("Illegal address syntax from %s in RCPT command: %s", s.clientLog(), printable(path, '?'))
		s.reply("501 5.1.3 Bad recipient address syntax")
		return false
	}
	rp, bad := parseRcptParams(params, !s.cfg.discarded("dsn"))
	if bad != "" {
		s.reply("%s", bad)
		return false
	}
	if s.cfg.SMTPUTF8 && !s.st.smtputf8 && !isASCII(rcpt) {
		s.reply("553 5.6.7 Must declare SMTPUTF8 to send unicode address")
		return false
	}
	if s.cfg.RecipientLimit > 0 && s.st.rcptCount >= s.cfg.RecipientLimit {
		s.reply("452 4.5.3 Error: too many recipients")
		if s.overshoot++; s.overshoot <= s.cfg.RecipientOvershootLimit {
			return true
		}
		return false
	}
	if s.cfg.Restrictions {
		if reply := s.checkRcpt(rcpt); reply != "" {
			s.reply("%s", reply)
			return false
		}
	}
	orcpt := rp.orcpt
	if orcpt == "" {
		orcpt = "rfc822;" + strings.TrimSuffix(strings.TrimPrefix(path, "<"), ">")
	}
	s.rcpts = append(s.rcpts, proto.Rcpt{Addr: rcpt, Notify: rp.notify, ORCPT: orcpt})
	s.st.rcptCount++
	if !s.st.haveRcpt {
		s.st.haveRcpt, s.st.recipient = true, rcpt
	}
	s.reply("250 2.1.5 Ok")
	return true
}
