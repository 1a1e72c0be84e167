package smtp

import (
	"context"
	"errors"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/postern-mta/postern/internal/dsn"
	"github.com/postern-mta/postern/internal/proto"
)

// Commands of a transaction.
const (
	cmdMail = iota
	cmdRcpt
	cmdData
	cmdRset
)

// What each command is called in texts: "(in reply to RCPT TO command)"
// and "timed out while sending RCPT TO".
var (
	cmdReplyTo = [...]string{"MAIL FROM command", "RCPT TO command", "DATA command", "final RSET command"}
	cmdStage   = [...]string{"sending MAIL FROM", "sending RCPT TO", "sending DATA command", "sending final RSET"}
)

const (
	stageBody = "sending message body"
	stageDot  = "sending end of data -- message may be sent more than once"
)

// maxPipeline is the most commands sent before their replies are read:
// enough for a batch of recipients, small enough that the replies never
// fill the server's socket buffer while we are still writing.
const maxPipeline = 100

type command struct {
	kind int
	line string
	rcpt int // request index, for cmdRcpt
}

// xfer is one mail transaction on a session.
type xfer struct {
	s            *session
	ready        time.Time
	rcpts        []int  // request indices sent in RCPT commands
	answered     []bool // by request index: RCPT answered in this transaction
	accepted     []int
	mailRejected bool
	replies      int // replies read so far
	data         *reply
	rsetOK       bool
}

var bodyBufs = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// transact runs one transaction on s for the recipients without a final
// result, then keeps s for reuse or ends it. stale reports a cached
// session that turned out to be closed by the server before anything
// happened: nothing was recorded and s is closed.
func (d *delivery) transact(ctx context.Context, s *session, key string) (stale bool) {
	a := d.a
	unbind := s.bind(ctx)
	x := &xfer{s: s, ready: time.Now(), answered: make([]bool, len(d.rcpts))}
	reusable, stale := d.xfer(ctx, x)
	unbind()
	if stale {
		s.close()
		return true
	}
	s.uses++
	if reusable && a.cacheable(key, s) {
		s.reused = false
		a.cache.put(key, s)
		return false
	}
	a.quit(s, reusable)
	return false
}

// xfer sends MAIL, RCPT and DATA (pipelined when the server allows),
// then the message. reusable says the session is in a clean state.
func (d *delivery) xfer(ctx context.Context, x *xfer) (reusable, stale bool) {
	s := x.s
	var todo []int
	for i := range d.rcpts {
		if !d.rcpts[i].final {
			todo = append(todo, i)
		}
	}
	if len(todo) == 0 {
		return true, false
	}
	if f := d.precheck(s); f != nil {
		for _, i := range todo {
			d.rcptFail(i, f, s, x.ready)
		}
		return true, false
	}
	cmds := make([]command, 1, len(todo)+2)
	cmds[0] = command{kind: cmdMail, line: d.mailCommand(s)}
	for _, i := range todo {
		rc := d.req.Recipients[i]
		if !cleanAddr(rc.Addr) {
			d.rcptFail(i, localFailure("5.1.3", false, "bad recipient address syntax: %q", printable(rc.Addr)), s, x.ready)
			continue
		}
		x.rcpts = append(x.rcpts, i)
		cmds = append(cmds, command{kind: cmdRcpt, line: d.rcptCommand(s, rc), rcpt: i})
	}
	if len(x.rcpts) == 0 {
		return true, false
	}
	if d.verify {
		cmds = append(cmds, command{kind: cmdRset, line: "RSET"})
	} else {
		cmds = append(cmds, command{kind: cmdData, line: "DATA"})
	}
	sent := 0
	for sent < len(cmds) {
		first := cmds[sent]
		if x.mailRejected || first.kind == cmdData && len(x.accepted) == 0 {
			break
		}
		n := 1
		if s.ext.pipelining {
			n = min(len(cmds)-sent, maxPipeline)
		}
		batch := cmds[sent : sent+n]
		for _, c := range batch {
			s.command(c.line)
		}
		if err := s.flush(d.timeout(first.kind)); err != nil {
			return d.broken(ctx, x, cmdStage[first.kind], err)
		}
		for _, c := range batch {
			r, err := s.reply(d.timeout(c.kind))
			if err != nil {
				return d.broken(ctx, x, cmdStage[c.kind], err)
			}
			if x.replies == 0 && s.reused && r.code == 421 {
				// The server ended the idle session while it was cached.
				return false, true
			}
			x.replies++
			d.onReply(x, c, r)
		}
		sent += n
	}
	switch {
	case d.verify && sent == len(cmds):
		return x.rsetOK, false
	case x.data == nil:
		// Stopped before DATA: MAIL refused or no recipient accepted.
		return d.rset(x), false
	case x.data.code != 354:
		if len(x.accepted) > 0 && !x.mailRejected {
			f := serverSaid(s, x.data, cmdReplyTo[cmdData])
			for _, i := range x.accepted {
				d.rcptFail(i, f, s, x.ready)
			}
		}
		return d.rset(x), false
	case len(x.accepted) == 0 || x.mailRejected:
		// The server took DATA with nobody to deliver to: an empty
		// message ends the transaction (RFC 2920).
		s.command(".")
		if _, err := d.a.exchange(s, d.a.cfg.Timeouts.DataDone); err != nil {
			return false, false
		}
		return true, false
	}
	return d.sendBody(ctx, x)
}

// precheck finds what makes this server unable to take the message
// before anything is sent.
func (d *delivery) precheck(s *session) *failure {
	if s.ext.size > 0 && d.f.ContentLen > s.ext.size {
		return localFailure("5.3.4", false, "message size %d exceeds size limit %d of server %s", d.f.ContentLen, s.ext.size, s.label)
	}
	if d.utf8Needed && !s.ext.smtputf8 {
		return localFailure("5.6.7", false, "SMTPUTF8 is required, but was not offered by host %s", s.label)
	}
	if !cleanAddr(d.req.Sender) {
		return localFailure("5.1.7", false, "bad sender address syntax: %q", printable(d.req.Sender))
	}
	return nil
}

func (d *delivery) onReply(x *xfer, c command, r *reply) {
	s := x.s
	switch c.kind {
	case cmdMail:
		if r.class() != 2 {
			x.mailRejected = true
			f := serverSaid(s, r, cmdReplyTo[cmdMail])
			for _, i := range x.rcpts {
				x.answered[i] = true
				d.rcptFail(i, f, s, x.ready)
			}
		}
	case cmdRcpt:
		if x.mailRejected {
			return
		}
		x.answered[c.rcpt] = true
		if r.class() != 2 {
			d.rcptFail(c.rcpt, serverSaid(s, r, cmdReplyTo[cmdRcpt]), s, x.ready)
			return
		}
		x.accepted = append(x.accepted, c.rcpt)
		if d.verify {
			d.rcptDone(c.rcpt, success(s, r, "deliverable"), x.ready)
		}
	case cmdData:
		x.data = r
	case cmdRset:
		x.rsetOK = r.class() == 2
	}
}

// sendBody sends the message after a 354 and reads the verdict: one reply
// for all accepted recipients (SMTP) or one each (LMTP).
func (d *delivery) sendBody(ctx context.Context, x *xfer) (reusable, stale bool) {
	s := x.s
	to := d.a.cfg.Timeouts
	bp := bodyBufs.Get().(*[]byte)
	s.wtimeout = to.DataXfer
	err := copyBody(s.bw, localReader{d.f.Content()}, d.a.cfg.LineLengthLimit, *bp)
	bodyBufs.Put(bp)
	if err == nil {
		err = s.flush(to.DataXfer)
	}
	var le localError
	switch {
	case errors.As(err, &le):
		d.a.log.Warning("%s: read queue file: %v", d.req.QueueID, le.err)
		f := localFailure("4.3.0", false, "local data error while talking to %s", s.label)
		for _, i := range x.accepted {
			d.rcptFail(i, f, s, x.ready)
		}
		return false, false
	case err != nil:
		return d.broken(ctx, x, stageBody, err)
	}
	action := proto.ActionRelayed
	if d.a.cfg.LMTP {
		action = proto.ActionDelivered
	}
	if !d.a.cfg.LMTP {
		r, err := s.reply(to.DataDone)
		if err != nil {
			return d.broken(ctx, x, stageDot, err)
		}
		d.verdict(x, x.accepted, r, action)
		return true, false
	}
	for k := range x.accepted {
		r, err := s.reply(to.DataDone)
		if err != nil {
			return d.broken(ctx, x, stageDot, err)
		}
		d.verdict(x, x.accepted[k:k+1], r, action)
	}
	return true, false
}

// verdict records the end-of-data reply for rcpts.
func (d *delivery) verdict(x *xfer, rcpts []int, r *reply, action string) {
	if r.class() == 2 {
		res := success(x.s, r, action)
		for _, i := range rcpts {
			d.rcptDone(i, res, x.ready)
		}
		return
	}
	f := serverSaid(x.s, r, "end of DATA command")
	for _, i := range rcpts {
		d.rcptFail(i, f, x.s, x.ready)
	}
}

// broken handles a conversation that failed in stage: every recipient
// of the transaction still waiting for its outcome gets the failure.
func (d *delivery) broken(ctx context.Context, x *xfer, stage string, err error) (reusable, stale bool) {
	if ctx.Err() == nil && x.s.reused && x.replies == 0 && isGone(err) {
		return false, true
	}
	f := d.a.ioFail(ctx, x.s, stage, err, false)
	for _, i := range x.rcpts {
		if !d.rcpts[i].final && (!x.answered[i] || contains(x.accepted, i)) {
			d.rcptFail(i, f, x.s, x.ready)
		}
	}
	return false, false
}

func contains(list []int, v int) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// rset ends an unfinished transaction so the session can be reused.
func (d *delivery) rset(x *xfer) bool {
	x.s.command("RSET")
	r, err := d.a.exchange(x.s, d.a.cfg.Timeouts.Rset)
	return err == nil && r.class() == 2
}

func (d *delivery) timeout(kind int) time.Duration {
	to := d.a.cfg.Timeouts
	switch kind {
	case cmdMail:
		return to.Mail
	case cmdRcpt:
		return to.Rcpt
	case cmdData:
		return to.DataInit
	}
	return to.Rset
}

// success is a recipient's result after a 2xx.
func success(s *session, r *reply, action string) proto.RcptResult {
	return proto.RcptResult{
		Status:    &dsn.Status{Code: r.code, Enhanced: r.enh, Text: r.message()},
		Action:    action,
		Reason:    r.text,
		RemoteMTA: s.t.host,
		DiagType:  "smtp",
		Diag:      r.text,
		Relay:     s.relay,
	}
}

// mailCommand builds MAIL FROM with the parameters the server supports.
func (d *delivery) mailCommand(s *session) string {
	var b strings.Builder
	b.WriteString("MAIL FROM:<")
	b.WriteString(d.req.Sender)
	b.WriteByte('>')
	if s.ext.sizeOffered {
		b.WriteString(" SIZE=")
		b.WriteString(strconv.FormatInt(d.f.ContentLen, 10))
	}
	if s.ext.eightbit {
		if d.encoding == "7bit" {
			b.WriteString(" BODY=7BIT")
		} else {
			b.WriteString(" BODY=8BITMIME")
		}
	}
	if s.ext.dsn {
		if ret := strings.ToUpper(d.req.DSNRet); ret == "FULL" || ret == "HDRS" {
			b.WriteString(" RET=")
			b.WriteString(ret)
		}
		if d.req.DSNEnvID != "" {
			b.WriteString(" ENVID=")
			b.WriteString(xtext(d.req.DSNEnvID))
		}
	}
	if s.ext.smtputf8 && (d.utf8Requested || d.utf8Needed) {
		b.WriteString(" SMTPUTF8")
	}
	return b.String()
}

// rcptCommand builds RCPT TO, with NOTIFY and ORCPT for a DSN server.
// Without an ORCPT from the client, the original recipient is sent as
// one, as Postfix does.
func (d *delivery) rcptCommand(s *session, rc proto.DeliverRcpt) string {
	var b strings.Builder
	b.WriteString("RCPT TO:<")
	b.WriteString(rc.Addr)
	b.WriteByte('>')
	if !s.ext.dsn {
		return b.String()
	}
	orcpt := rc.ORCPT
	if orcpt == "" && rc.Orig != "" && cleanAddr(rc.Orig) {
		typ := "rfc822"
		if !ascii(rc.Orig) {
			typ = "utf-8"
		}
		orcpt = typ + ";" + rc.Orig
	}
	if orcpt != "" {
		if enc, ok := encodeORCPT(orcpt, s.ext.smtputf8); ok {
			b.WriteString(" ORCPT=")
			b.WriteString(enc)
		}
	}
	if n := strings.ToUpper(rc.Notify); n != "" && validNotify(n) {
		b.WriteString(" NOTIFY=")
		b.WriteString(n)
	}
	return b.String()
}

// localReader marks errors reading the queue file, to tell them from
// errors writing to the server.
type localReader struct{ r io.Reader }

type localError struct{ err error }

func (e localError) Error() string { return e.err.Error() }

func (l localReader) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	if err != nil && err != io.EOF {
		err = localError{err}
	}
	return n, err
}
