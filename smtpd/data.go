package smtpd

import (
	"bytes"
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/postern-mta/postern/internal/dsn"
	"github.com/postern-mta/postern/internal/proto"
)

// DATA and BDAT: the message content goes to cleanup as it arrives, in
// chunks, never held whole in memory.

// message is one message on its way to cleanup.
type message struct {
	sub      Submission
	chunk    []byte
	tooBig   bool
	writeErr error
}

const chunkSize = 32 << 10

func (m *message) write(s *session, p []byte) {
	s.actSize += int64(len(p))
	if m.tooBig || m.writeErr != nil {
		return
	}
	if limit := s.cfg.MessageSizeLimit; limit > 0 && s.actSize > limit {
		m.tooBig = true
		s.log.Warning("%s: queue file size limit exceeded", orNoQueue(s.st.queueID))
		m.sub.Abort()
		return
	}
	for len(p) > 0 {
		n := copy(m.chunk[len(m.chunk):cap(m.chunk)], p)
		m.chunk = m.chunk[:len(m.chunk)+n]
		p = p[n:]
		if len(m.chunk) == cap(m.chunk) {
			m.flush()
		}
	}
}

func (m *message) flush() {
	if len(m.chunk) == 0 || m.writeErr != nil || m.tooBig {
		m.chunk = m.chunk[:0]
		return
	}
	if _, err := m.sub.Write(m.chunk); err != nil {
		m.writeErr = err
		m.sub.Abort()
	}
	m.chunk = m.chunk[:0]
}

func orNoQueue(id string) string {
	if id == "" {
		return "NOQUEUE"
	}
	return id
}

func (s *session) data(arg string) bool {
	if s.bdat != nil {
		s.reply("503 5.5.1 Error: DATA after BDAT")
		return false
	}
	if s.st.rcptCount == 0 {
		if !s.inTransaction() {
			s.reply("503 5.5.1 Error: need RCPT command")
		} else {
			s.reply("554 5.5.1 Error: no valid recipients")
		}
		return false
	}
	if arg != "" {
		s.reply("501 5.5.4 Syntax: DATA")
		return false
	}
	if s.cfg.Restrictions {
		if reply := s.checkData(stageData); reply != "" {
			s.reply("%s", reply)
			return false
		}
	}
	m, ok := s.startMessage()
	if !ok {
		return false
	}
	s.reply("354 End data with <CR><LF>.<CR><LF>")
	s.in.grow()
	if err := s.receiveData(m); err != nil {
		m.sub.Abort()
		s.inputError(err)
		s.hangup = true
		return false
	}
	s.st.where = "END-OF-MESSAGE"
	return s.endMessage(m)
}

// startMessage opens the submission and writes what goes before the
// client's content: PREPEND headers and our Received: header.
func (s *session) startMessage() (*message, bool) {
	sub, reply := s.openSubmission()
	if reply != "" {
		s.reply("%s", reply)
		return nil, false
	}
	bp := largePool.Get().(*[]byte)
	m := &message{sub: sub, chunk: (*bp)[:0:chunkSize]}
	var hdr []byte
	for _, h := range s.st.fx.prepend {
		hdr = append(hdr, h...)
		hdr = append(hdr, '\n')
	}
	hdr = appendReceived(hdr, s.receivedParams())
	m.chunk = append(m.chunk, hdr...)
	return m, true
}

// releaseMessage returns the chunk buffer.
func releaseMessage(m *message) {
	if m.chunk == nil {
		return
	}
	b := m.chunk[:cap(m.chunk)]
	m.chunk = nil
	largePool.Put(&b)
}

// receiveData reads the dot-terminated content, undoing dot-stuffing.
// A read error (the client went away, a timeout) is returned; the
// caller aborts the submission.
func (s *session) receiveData(m *message) error {
	in := s.in
	bol := true
	for {
		if in.r == in.w || (bol && in.buf[in.r] == '.' && needMore(in.buf[in.r:in.w])) {
			if in.r < in.w && in.w == len(in.buf) {
				n := copy(in.buf, in.buf[in.r:in.w])
				in.r, in.w = 0, n
			}
			if err := in.fill(); err != nil {
				return err
			}
			continue
		}
		b := in.buf[in.r:in.w]
		if bol && b[0] == '.' {
			if b[1] == '\n' || (len(b) > 2 && b[1] == '\r' && b[2] == '\n') {
				in.r += 2
				if b[1] == '\r' {
					in.r++
				}
				return nil
			}
			in.r++
			b = b[1:]
		}
		bol = false
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			m.write(s, b[:i+1])
			in.r += i + 1
			bol = true
			continue
		}
		m.write(s, b)
		in.r = in.w
	}
}

// needMore: a line that starts with '.' cannot be told apart from the
// end of data yet.
func needMore(b []byte) bool {
	return len(b) == 1 || (len(b) == 2 && b[1] == '\r')
}

// endMessage ends the content and gives the client cleanup's verdict.
func (s *session) endMessage(m *message) bool {
	defer releaseMessage(m)
	defer s.resetTransaction()
	switch {
	case m.tooBig:
		s.reply("552 5.3.4 Error: message file too big")
		return false
	case m.writeErr != nil:
		s.log.Warning("%s: send content to cleanup: %v", orNoQueue(s.st.queueID), m.writeErr)
		s.reply("451 4.3.0 Error: queue file write error")
		return false
	}
	if s.cfg.Restrictions {
		if reply := s.checkData(stageEOD); reply != "" {
			m.sub.Abort()
			s.reply("%s", reply)
			return false
		}
	}
	m.flush()
	if m.writeErr != nil {
		s.log.Warning("%s: send content to cleanup: %v", orNoQueue(s.st.queueID), m.writeErr)
		s.reply("451 4.3.0 Error: queue file write error")
		return false
	}
	if s.st.fx.discard {
		// DISCARD: claim success, queue nothing.
		id := m.sub.ID()
		m.sub.Abort()
		s.errorCount, s.junk = 0, 0
		s.reply("250 2.0.0 Ok: queued as %s", id)
		return true
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(s.ctx), 10*time.Minute)
	defer cancel()
	s.log.Flush() // "QID: client=" before cleanup's lines
	res, err := m.sub.Finish(ctx)
	if err != nil {
		var st *dsn.Status
		if errors.As(err, &st) && st.Code >= 400 && st.Code < 600 {
			s.reply("%s", statusReply(st))
			return false
		}
		s.log.Warning("%s: cleanup did not take the message: %v", orNoQueue(s.st.queueID), err)
		s.reply("451 4.3.0 Error: queue file write error")
		return false
	}
	id := m.sub.ID()
	if res != nil && res.QueueID != "" {
		id = res.QueueID
	}
	s.errorCount, s.junk = 0, 0
	if id == "" {
		s.reply("250 2.0.0 Ok")
	} else {
		s.reply("250 2.0.0 Ok: queued as %s", id)
	}
	return true
}

// statusReply formats a status from cleanup as an SMTP reply.
func statusReply(st *dsn.Status) string {
	enh := st.Enhanced
	if enh == "" {
		enh = strconv.Itoa(st.Code/100) + ".0.0"
	}
	return strconv.Itoa(st.Code) + " " + enh + " " + printable(st.Text, ' ')
}

// openSubmission starts the message at cleanup (or postdrop) and logs
// "QID: client=host[addr]". A non-empty reply means it failed.
func (s *session) openSubmission() (Submission, string) {
	o := s.cleanupOpen()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(s.ctx), 100*time.Second)
	defer cancel()
	sub, err := s.srv.submit.Open(ctx, o)
	if err != nil {
		var st *dsn.Status
		if errors.As(err, &st) && st.Code >= 400 && st.Code < 600 {
			return nil, statusReply(st)
		}
		s.log.Warning("open a queue file: %v", err)
		return nil, "451 4.3.0 Error: queue file write error"
	}
	s.st.queueID = sub.ID()
	if s.st.queueID != "" && !s.cfg.Standalone {
		s.log.Info("%s: client=%s", s.st.queueID, s.clientLog())
	}
	return sub, ""
}

// cleanupOpen builds the envelope for cleanup. Access table side effects
// travel with it: HOLD as CleanupHold, BCC as extra recipients with
// NOTIFY=NEVER, REDIRECT by replacing the recipients, FILTER as the
// "filter" attribute (transport:destination). DISCARD and PREPEND are
// done here.
func (s *session) cleanupOpen() *proto.CleanupOpen {
	st := &s.st
	o := &proto.CleanupOpen{
		Source:     "smtpd",
		Sender:     st.sender,
		Recipients: append([]proto.Rcpt(nil), s.rcpts...),
		DSNRet:     s.dsnRet,
		DSNEnvID:   s.envID,
		Arrival:    s.arrival,
	}
	if s.cfg.Standalone {
		o.Source = "sendmail"
	}
	if st.fx.hold {
		o.Flags |= proto.CleanupHold
	}
	if st.fx.redirect != "" && len(s.rcpts) > 0 {
		// As Postfix's qmgr does: one delivery, to the redirect address,
		// for the first recipient, which stays the original recipient.
		r := s.rcpts[0]
		if r.Orig == "" {
			r.Orig = r.Addr
		}
		r.Addr = st.fx.redirect
		o.Recipients = []proto.Rcpt{r}
	}
	for _, b := range st.fx.bcc {
		o.Recipients = append(o.Recipients, proto.Rcpt{Addr: b, Notify: "NEVER"})
	}
	attr := func(n, v string) { o.Attrs = append(o.Attrs, proto.Attr{Name: n, Value: v}) }
	if !s.cfg.Standalone {
		attr(proto.AttrClientName, st.name)
		attr(proto.AttrReverseName, st.reverseName)
		attr(proto.AttrClientAddr, st.addr)
		attr(proto.AttrClientPort, st.port)
		attr(proto.AttrRewriteContext, "remote")
	}
	if st.helo != "" {
		attr(proto.AttrHeloName, st.helo)
	}
	attr(proto.AttrProtocol, st.protocol)
	attr(proto.AttrContentFilter, s.cfg.ContentFilter)
	if s.encoding != "" {
		attr(proto.AttrEncoding, s.encoding)
	}
	if st.smtputf8 {
		attr(proto.AttrSMTPUTF8, "1")
	}
	if st.fx.filter != "" {
		attr(AttrFilter, st.fx.filter)
	}
	return o
}

// AttrFilter carries an access table FILTER action to cleanup: the
// content filter "transport:destination" for this message.
const AttrFilter = "filter"

// receivedParams gathers what the Received: header says.
func (s *session) receivedParams() receivedParams {
	p := receivedParams{
		helo:     s.st.helo,
		name:     s.st.name,
		addr:     rfcAddr(s.st.addr),
		host:     s.cfg.MyHostname,
		mailName: s.cfg.MailName,
		proto:    s.st.protocol,
		queueID:  s.st.queueID,
		date:     s.arrival,
	}
	if p.date.IsZero() {
		p.date = time.Now()
	}
	if s.tls != nil && s.st.protocol == "ESMTP" {
		p.proto += "S"
	}
	if s.tls != nil && s.cfg.TLSReceivedHeader {
		p.tls = s.tls
		p.askCert = s.cfg.TLSAskCert
	}
	if s.st.rcptCount == 1 && s.st.haveRcpt {
		p.rcpt = s.st.recipient
	}
	return p
}
