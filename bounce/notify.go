package bounce

import (
	"context"
	"errors"
	"strings"

	"github.com/postern-mta/postern/internal/addr"
	"github.com/postern-mta/postern/internal/dsn"
	"github.com/postern-mta/postern/internal/proto"
	"github.com/postern-mta/postern/queue"
)

// notify sends the report a request asks for. Who gets what:
//
//   - bounce: the sender gets the failed recipients whose NOTIFY allows
//     FAILURE, with the original (RET) up to bounce_size_limit; the
//     postmaster gets a copy of all with headers only (notify_classes
//     bounce). A message from the null sender is never bounced to it: the
//     report goes to the postmaster instead (2bounce), and a message from
//     double_bounce_sender that fails is dropped.
//   - delay: the same, with NOTIFY DELAY, headers only, notify_classes
//     delay; recipients delivered or bounced since are left out.
//   - success: recipients with NOTIFY SUCCESS (all of them for sendmail
//     -v), headers only.
//   - verify: every recipient of a sendmail -bv probe.
//
// The bounce and trace logs are removed once their report is queued; the
// defer log stays, as mailq shows its reasons.
func (s *server) notify(ctx context.Context, req *proto.BounceRequest) *proto.BounceReply {
	var logQueue string
	switch req.Report {
	case proto.ReportBounce:
		logQueue = queue.Bounce
	case proto.ReportDelay:
		logQueue = queue.Defer
	case proto.ReportSuccess, proto.ReportVerify:
		logQueue = queue.Trace
	default:
		return badRequest("report %q", req.Report)
	}
	m, err := s.load(req.Queue, req.QueueID, logQueue)
	if errors.Is(err, errGone) {
		s.log.Warning("%s: %v: no %s notification sent", req.QueueID, err, req.Report)
		if logQueue != queue.Defer {
			s.removeLog(logQueue, req.QueueID)
		}
		return &proto.BounceReply{}
	}
	if err != nil {
		s.log.Warning("%s: %v", req.QueueID, err)
		return &proto.BounceReply{Status: dsn.Temp("4.3.0", "cannot read message %s", req.QueueID).Wrap(err)}
	}
	defer m.Close()
	var id string
	switch req.Report {
	case proto.ReportBounce:
		id, err = s.sendBounce(ctx, m)
	case proto.ReportDelay:
		id, err = s.sendDelay(ctx, m)
	default:
		id, err = s.sendTrace(ctx, m, req.Report == proto.ReportVerify)
	}
	if err != nil {
		return &proto.BounceReply{Status: dsn.FromError(err)}
	}
	return &proto.BounceReply{NoticeID: id}
}

func (s *server) sendBounce(ctx context.Context, m *message) (string, error) {
	sender := m.env.Sender
	notice := ""
	switch {
	case len(m.rcpts) == 0:
		// Nothing failed, or the log was removed with its report sent.
	case s.isDoubleBounce(sender):
		s.log.Warning("%s: undeliverable postmaster notification discarded", m.id)
	case sender == "":
		if !s.cfg.NotifyBounce && !s.cfg.Notify2Bounce {
			s.log.Info("%s: undeliverable bounce discarded (notify_classes has neither bounce nor 2bounce)", m.id)
			break
		}
		r := s.newReport(m, kindFailure, s.cfg.TwoBounceNotice, m.rcpts)
		r.postmaster = true
		r.headersOnly = s.tooBig(m)
		id, err := s.send(ctx, m, "postmaster non-delivery notification", s.cfg.DoubleBounceSender, r)
		if err != nil {
			return "", err
		}
		notice = id
	default:
		mine := filter(m.rcpts, func(rc *rcptStatus) bool { return wants(rc.Notify, "FAILURE") })
		if len(mine) > 0 {
			r := s.newReport(m, kindFailure, sender, mine)
			r.headersOnly = strings.EqualFold(m.env.DSNRet, "HDRS") || s.tooBig(m)
			id, err := s.send(ctx, m, "sender non-delivery notification", "", r)
			if err != nil {
				return "", err
			}
			notice = id
		}
		if s.cfg.NotifyBounce {
			r := s.newReport(m, kindFailure, s.cfg.BounceNotice, m.rcpts)
			r.postmaster, r.headersOnly = true, true
			if _, err := s.send(ctx, m, "postmaster non-delivery notification", s.cfg.DoubleBounceSender, r); err != nil {
				s.log.Warning("%s: postmaster notice failed while bouncing to %s", m.id, sender)
			}
		}
	}
	s.removeLog(queue.Bounce, m.id)
	return notice, nil
}

func (s *server) sendDelay(ctx context.Context, m *message) (string, error) {
	sender := m.env.Sender
	waiting := filter(m.rcpts, func(rc *rcptStatus) bool { return !rc.Done })
	notice := ""
	switch {
	case len(waiting) == 0:
	case s.isDoubleBounce(sender):
		s.log.Warning("%s: undeliverable postmaster notification discarded", m.id)
	case sender == "":
		if !s.cfg.NotifyDelay {
			break
		}
		r := s.newReport(m, kindDelay, s.cfg.DelayNotice, waiting)
		r.postmaster, r.headersOnly = true, true
		id, err := s.send(ctx, m, "postmaster delay notification", s.cfg.DoubleBounceSender, r)
		if err != nil {
			return "", err
		}
		notice = id
	default:
		mine := filter(waiting, func(rc *rcptStatus) bool { return wants(rc.Notify, "DELAY") })
		if len(mine) > 0 {
			r := s.newReport(m, kindDelay, sender, mine)
			r.headersOnly = true
			id, err := s.send(ctx, m, "sender delay notification", "", r)
			if err != nil {
				return "", err
			}
			notice = id
		}
		if s.cfg.NotifyDelay {
			r := s.newReport(m, kindDelay, s.cfg.DelayNotice, waiting)
			r.postmaster, r.headersOnly = true, true
			if _, err := s.send(ctx, m, "postmaster delay notification", s.cfg.DoubleBounceSender, r); err != nil {
				s.log.Warning("%s: postmaster notice failed while warning %s", m.id, sender)
			}
		}
	}
	return notice, nil
}

func (s *server) sendTrace(ctx context.Context, m *message, verify bool) (string, error) {
	sender := m.env.Sender
	verify = verify || m.env.Flags&queue.FlagVerify != 0
	kind, rcpts := kindSuccess, m.rcpts
	if verify || m.env.Flags&queue.FlagTrace != 0 {
		kind = kindStatus
	} else {
		rcpts = filter(rcpts, func(rc *rcptStatus) bool { return wants(rc.Notify, "SUCCESS") })
	}
	notice := ""
	if len(rcpts) > 0 && sender != "" && !s.isDoubleBounce(sender) {
		r := s.newReport(m, kind, sender, rcpts)
		r.verify, r.headersOnly = verify, true
		id, err := s.send(ctx, m, "sender delivery status notification", "", r)
		if err != nil {
			return "", err
		}
		notice = id
	}
	s.removeLog(queue.Trace, m.id)
	return notice, nil
}

// send queues report r from envelope sender and logs it as what ("sender
// non-delivery notification"). A permanent refusal by cleanup will not
// get better by trying again: it is logged, and the report is given up.
// Any other failure is returned as a temporary status, so that the
// caller keeps the message and asks again.
func (s *server) send(ctx context.Context, m *message, what, sender string, r *report) (string, error) {
	id, err := s.submit(ctx, sender, r.to, r)
	if err == nil {
		s.log.Info("%s: %s: %s", m.id, what, id)
		return id, nil
	}
	var st *dsn.Status
	if errors.As(err, &st) && st.Permanent() {
		s.log.Warning("%s: %s to <%s> refused by cleanup, not sent: %v", m.id, what, r.to, err)
		return "", nil
	}
	s.log.Warning("%s: cannot send %s to <%s>: %v", m.id, what, r.to, err)
	return "", dsn.Temp("4.3.0", "cannot send the %s now", what).Wrap(err)
}

// newReport prepares a report about message m for to.
func (s *server) newReport(m *message, kind reportKind, to string, rcpts []rcptStatus) *report {
	env := m.env
	now := s.cfg.Now()
	r := &report{
		kind:         kind,
		hostname:     s.cfg.MyHostname,
		mailName:     s.cfg.MailName,
		to:           to,
		date:         now,
		loc:          s.cfg.Location,
		queueID:      m.id,
		sender:       env.Sender,
		envID:        env.DSNEnvID,
		arrival:      env.Arrival,
		retryUntil:   retryUntil(env.Arrival, env.Sender, s.cfg.MaxQueueLifetime, s.cfg.BounceQueueLifetime),
		origEncoding: env.Attr(proto.AttrEncoding),
		rcpts:        rcpts,
		original:     m.file.Content(),
		origSize:     m.file.ContentLen,
	}
	// The message/global types only when SMTPUTF8 was asked for and
	// something is not ASCII: an all-ASCII report of an all-ASCII
	// message is read more widely in its classic form.
	r.utf8 = isSet(env.Attr(proto.AttrSMTPUTF8)) && (r.eightBit() || !isASCII(env.Sender) || headersEightBit(m.file.Content()))
	if s.cfg.ThreadedBounces {
		if !m.msgIDDone {
			m.msgID, m.msgIDDone = messageID(m.file.Content()), true
		}
		r.origMsgID = m.msgID
	}
	return r
}

// tooBig reports whether m is over bounce_size_limit (0: no limit), so
// that only its headers are returned.
func (s *server) tooBig(m *message) bool {
	return s.cfg.BounceSizeLimit > 0 && m.file.ContentLen > s.cfg.BounceSizeLimit
}

// isDoubleBounce reports whether sender is double_bounce_sender, with or
// without the domain.
func (s *server) isDoubleBounce(sender string) bool {
	if sender == "" {
		return false
	}
	if strings.EqualFold(sender, s.cfg.DoubleBounceSender) {
		return true
	}
	return !strings.Contains(sender, "@") && strings.EqualFold(sender, addr.Local(s.cfg.DoubleBounceSender))
}

func (s *server) removeLog(logQueue, id string) {
	if err := s.cfg.Layout.RemoveLog(logQueue, id); err != nil {
		s.log.Warning("%s: %v", id, err)
	}
}

// isSet reads a yes/no attribute written by another daemon.
func isSet(v string) bool {
	switch strings.ToLower(v) {
	case "", "0", "no", "false":
		return false
	}
	return true
}
