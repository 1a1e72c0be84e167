package smtpd

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/postern-mta/postern/internal/daemon"
	"github.com/postern-mta/postern/internal/maillog"
	"github.com/postern-mta/postern/internal/proto"
)

// session is one SMTP client, from connect to disconnect.
type session struct {
	srv *Server
	cfg *Config
	// ctx is for the session's work (lookups, DNS): a graceful stop of
	// the daemon (a reload, a restart) does not cancel it, so sessions
	// under way finish normally; stopping is closed when that stop begins.
	ctx      context.Context
	stopping <-chan struct{}
	log      *maillog.Logger
	conn     net.Conn
	in       *input
	out      []byte
	// w is where replies go: the connection, or standard output in
	// stand-alone mode.
	w io.Writer

	st checkState

	errorCount int
	junk       int
	reason     string // why the session ended abnormally
	hangup     bool
	counts     [numCommands]counter
	unknown    counter

	tls *tls.ConnectionState

	// idler is told when the session waits for a command, so that a
	// graceful stop can close idle sessions at once.
	idler   *daemon.Conn
	waiting bool

	overshoot int // recipients refused over smtpd_recipient_limit

	// The mail transaction.
	rcpts    []proto.Rcpt
	dsnRet   string
	envID    string
	encoding string
	msgSize  int64 // SIZE= (kept after a rejected MAIL, as Postfix does)
	actSize  int64 // bytes of content received
	arrival  time.Time
	bdat     *bdatState
}

type counter struct{ total, ok int }

// newSession prepares a session; conn may be nil in stand-alone mode.
func newSession(ctx context.Context, srv *Server, conn net.Conn, r io.Reader, w io.Writer) *session {
	s := &session{srv: srv, cfg: srv.cfg, ctx: context.WithoutCancel(ctx), stopping: ctx.Done(), log: srv.log, conn: conn, w: w}
	if conn != nil {
		s.in = newInput(conn, s.cfg.Timeout)
	} else {
		s.in = newInput(readerConn{r}, s.cfg.Timeout)
	}
	s.in.beforeWait = s.beforeWait
	s.st.protocol = "SMTP"
	s.st.where = "CONNECT"
	return s
}

// readerConn lets stand-alone mode read standard input through input.
type readerConn struct{ io.Reader }

func (readerConn) Write(p []byte) (int, error)        { return len(p), nil }
func (readerConn) Close() error                       { return nil }
func (readerConn) LocalAddr() net.Addr                { return nil }
func (readerConn) RemoteAddr() net.Addr               { return nil }
func (readerConn) SetDeadline(time.Time) error        { return nil }
func (readerConn) SetReadDeadline(t time.Time) error  { return nil }
func (readerConn) SetWriteDeadline(t time.Time) error { return nil }

// reply queues one reply line (or several, separated by "\r\n"). Output
// is flushed when the session waits for input, so pipelined commands get
// their replies in one write.
func (s *session) reply(format string, args ...any) {
	if s.errorCount >= s.cfg.SoftErrorLimit && s.cfg.ErrorSleepTime > 0 {
		s.flush() //nolint:errcheck // a broken connection shows at the next read
		s.sleep(s.cfg.ErrorSleepTime)
	}
	text := format
	if len(args) > 0 {
		text = fmt.Sprintf(format, args...)
	}
	if s.cfg.RejectFooter != "" && len(text) > 3 && (text[0] == '4' || text[0] == '5') {
		text = addFooter(text, s.cfg.RejectFooter)
	}
	for _, line := range strings.Split(text, "\r\n") {
		if s.cfg.SoftBounce && len(line) > 4 && line[0] == '5' {
			b := []byte(line)
			b[0] = '4'
			if b[4] == '5' {
				b[4] = '4'
			}
			line = string(b)
		}
		s.out = append(s.out, line...)
		s.out = append(s.out, '\r', '\n')
	}
	if strings.HasPrefix(text, "421") || strings.HasPrefix(text, "521") {
		s.hangup = true
	}
}

// addFooter appends smtpd_reject_footer as more lines of the same reply
// ("\n" in the footer starts a new line).
func addFooter(reply, footer string) string {
	code := reply[:3]
	prefix := code + " "
	if len(reply) > 9 && reply[3] == ' ' && reply[5] == '.' {
		if sp := strings.IndexByte(reply[4:], ' '); sp > 0 {
			prefix = code + " " + reply[4:4+sp] + " "
		}
	}
	lines := strings.Split(strings.ReplaceAll(footer, `\n`, "\n"), "\n")
	out := strings.Replace(reply, code+" ", code+"-", 1)
	for i, l := range lines {
		p := prefix
		if i < len(lines)-1 {
			p = strings.Replace(prefix, " ", "-", 1)
		}
		out += "\r\n" + p + l
	}
	return out
}

// beforeWait runs when the session is about to block for input: replies
// go out, and between commands the session counts as idle.
func (s *session) beforeWait() error {
	if err := s.flush(); err != nil {
		return err
	}
	if s.waiting {
		// Between commands the session keeps no buffers: an idle client
		// costs its goroutine and this struct.
		s.in.release()
		s.out = nil
		if s.idler != nil {
			s.idler.SetIdle(true)
		}
	}
	return nil
}

// flush sends queued replies.
func (s *session) flush() error {
	if len(s.out) == 0 {
		return nil
	}
	if s.conn != nil {
		if err := s.conn.SetWriteDeadline(time.Now().Add(s.cfg.Timeout)); err != nil {
			return err
		}
	}
	_, err := s.w.Write(s.out)
	if cap(s.out) > 4096 {
		s.out = nil
	} else {
		s.out = s.out[:0]
	}
	return err
}

// sleep pauses unless the daemon is stopping.
func (s *session) sleep(d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-s.stopping:
	}
}

// logWhatsup writes Postfix's "QID: action: WHERE from host[addr]: text;
// from=<…> to=<…> proto=… helo=<…>" line.
func (s *session) logWhatsup(action, text string) {
	st := &s.st
	if st.haveSender {
		s.log.Reject(maillog.Reject{
			QueueID: st.queueID, Action: action, Stage: st.where, Client: s.clientLog(),
			Reply: text, From: st.sender, To: rcptIf(st), Proto: st.protocol, Helo: st.helo,
		})
		return
	}
	var b strings.Builder
	id := st.queueID
	if id == "" {
		id = "NOQUEUE"
	}
	fmt.Fprintf(&b, "%s: %s: %s from %s: %s;", id, action, st.where, s.clientLog(), text)
	if st.haveRcpt {
		fmt.Fprintf(&b, " to=<%s>", st.recipient)
	}
	if st.protocol != "" {
		fmt.Fprintf(&b, " proto=%s", st.protocol)
	}
	if st.helo != "" {
		fmt.Fprintf(&b, " helo=<%s>", st.helo)
	}
	s.log.Info("%s", b.String())
}

func rcptIf(st *checkState) string {
	if st.haveRcpt {
		return st.recipient
	}
	return ""
}

// clientLog is "host[addr]", with ":port" when smtpd_client_port_logging
// is on.
func (s *session) clientLog() string {
	if s.cfg.ClientPortLogging && s.st.port != "" {
		return s.st.namaddr() + ":" + s.st.port
	}
	return s.st.namaddr()
}

// run serves the session until QUIT, a hang-up, an error or the end of
// the daemon.
func (s *session) run() {
	s.log.Info("connect from %s", s.clientLog())
	defer s.finish()
	if s.cfg.TLSWrapper && s.conn != nil && s.cfg.TLS != nil {
		if !s.handshake() {
			return
		}
	}
	if s.cfg.Restrictions && !s.cfg.Checks.DelayReject {
		if reply := s.checkClient(); reply != "" {
			s.st.accessDenied = reply
			s.reply("%s", reply)
			s.errorCount++
		} else {
			s.reply("220 %s", s.cfg.Banner)
		}
	} else {
		s.reply("220 %s", s.cfg.Banner)
	}
	for !s.hangup {
		if s.errorCount >= s.cfg.HardErrorLimit {
			s.reason = "too many errors"
			s.reply("421 4.7.0 %s Error: too many errors", s.cfg.MyHostname)
			break
		}
		s.waiting = true
		line, err := s.in.readLine(s.cfg.LineLengthLimit)
		s.waiting = false
		if s.idler != nil {
			s.idler.SetIdle(false)
		}
		if err != nil {
			s.inputError(err)
			break
		}
		// A graceful stop (a reload) lets the session go on to its end:
		// the client is never cut off; the daemon exits when the last
		// session ends, or after the grace period.
		s.dispatch(string(line))
	}
}

// inputError records why reading stopped.
func (s *session) inputError(err error) {
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout(), errors.Is(err, os.ErrDeadlineExceeded):
		s.reason = "timeout"
		s.reply("421 4.4.2 %s Error: timeout exceeded", s.cfg.MyHostname)
	default:
		s.reason = "lost connection"
	}
}

// finish logs the end of the session.
func (s *session) finish() {
	s.flush() //nolint:errcheck // the client is leaving anyway
	s.abortTransaction()
	if s.reason != "" && s.st.where != "" {
		switch {
		case s.st.where == "DATA" || s.st.where == "BDAT":
			s.log.Info("%s after %s (%d bytes) from %s", s.reason, s.st.where, s.actSize+int64(s.in.buffered()), s.clientLog())
		case s.st.where != "END-OF-MESSAGE" || s.reason != "lost connection":
			s.log.Info("%s after %s from %s", s.reason, s.st.where, s.clientLog())
		}
	}
	s.in.release()
	s.log.Info("disconnect from %s%s", s.clientLog(), s.countersText())
}

// countersText gives " ehlo=1 mail=1 rcpt=0/1 … commands=4/5".
func (s *session) countersText() string {
	var b strings.Builder
	var all counter
	add := func(name string, c counter) {
		if c.total == 0 {
			return
		}
		all.total += c.total
		all.ok += c.ok
		b.WriteByte(' ')
		b.WriteString(name)
		b.WriteByte('=')
		writeCount(&b, c)
	}
	for i, d := range commands {
		add(strings.ToLower(d.name), s.counts[i])
	}
	add("unknown", s.unknown)
	b.WriteString(" commands=")
	writeCount(&b, all)
	return b.String()
}

func writeCount(b *strings.Builder, c counter) {
	b.WriteString(strconv.Itoa(c.ok))
	if c.ok != c.total {
		b.WriteByte('/')
		b.WriteString(strconv.Itoa(c.total))
	}
}
