package mtatest

import (
	"bytes"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// SinkMessage is one message a Sink accepted.
type SinkMessage struct {
	From string
	To   []string
	Data []byte
	LMTP bool
}

// Sink is a real SMTP (or LMTP) server on loopback that keeps what it
// receives. RcptReply, when set, decides per recipient: return nil to
// accept, or an *smtp.SMTPError to refuse.
type Sink struct {
	Addr string // host:port, or a socket path for LMTP over Unix

	mu        sync.Mutex
	msgs      []SinkMessage
	rcptReply func(rcpt string) *smtp.SMTPError
	dataReply func(rcpt string) *smtp.SMTPError
	srv       *smtp.Server
	ln        net.Listener
}

// NewSink starts an SMTP sink on a free loopback port; it stops when the
// test ends.
func NewSink(t testing.TB) *Sink {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return startSink(t, ln, false)
}

// NewLMTPSink starts an LMTP server on ln (TCP or Unix).
func NewLMTPSink(t testing.TB, ln net.Listener) *Sink {
	t.Helper()
	return startSink(t, ln, true)
}

func startSink(t testing.TB, ln net.Listener, lmtp bool) *Sink {
	s := &Sink{Addr: ln.Addr().String(), ln: ln}
	srv := smtp.NewServer(&sinkBackend{s: s, lmtp: lmtp})
	srv.Domain = "sink.example.test"
	srv.LMTP = lmtp
	srv.AllowInsecureAuth = true
	srv.ReadTimeout = 30 * time.Second
	srv.WriteTimeout = 30 * time.Second
	srv.MaxMessageBytes = 64 << 20
	srv.MaxRecipients = 10000
	srv.EnableSMTPUTF8 = true
	s.srv = srv
	go srv.Serve(ln) //nolint:errcheck // ends with Close
	t.Cleanup(func() { srv.Close() })
	return s
}

// RcptReply sets the per-recipient RCPT answer.
func (s *Sink) RcptReply(f func(rcpt string) *smtp.SMTPError) {
	s.mu.Lock()
	s.rcptReply = f
	s.mu.Unlock()
}

// DataReply sets the per-recipient answer after DATA (LMTP only).
func (s *Sink) DataReply(f func(rcpt string) *smtp.SMTPError) {
	s.mu.Lock()
	s.dataReply = f
	s.mu.Unlock()
}

// Close stops the sink: connections are refused from now on.
func (s *Sink) Close() { s.srv.Close() }

// Messages returns a copy of what was received so far.
func (s *Sink) Messages() []SinkMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]SinkMessage(nil), s.msgs...)
}

// Count returns how many messages were received.
func (s *Sink) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.msgs)
}

type sinkBackend struct {
	s    *Sink
	lmtp bool
}

func (b *sinkBackend) NewSession(*smtp.Conn) (smtp.Session, error) {
	return &sinkSession{s: b.s, lmtp: b.lmtp}, nil
}

type sinkSession struct {
	s    *Sink
	lmtp bool
	from string
	to   []string
}

func (ss *sinkSession) Mail(from string, _ *smtp.MailOptions) error {
	ss.from = from
	ss.to = nil
	return nil
}

func (ss *sinkSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.s.mu.Lock()
	f := ss.s.rcptReply
	ss.s.mu.Unlock()
	if f != nil {
		if e := f(to); e != nil {
			return e
		}
	}
	ss.to = append(ss.to, to)
	return nil
}

func (ss *sinkSession) Data(r io.Reader) error {
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, r); err != nil {
		return err
	}
	ss.s.mu.Lock()
	defer ss.s.mu.Unlock()
	ss.s.msgs = append(ss.s.msgs, SinkMessage{From: ss.from, To: append([]string(nil), ss.to...), Data: buf.Bytes(), LMTP: ss.lmtp})
	return nil
}

// LMTPData gives LMTP's per-recipient answers.
func (ss *sinkSession) LMTPData(r io.Reader, status smtp.StatusCollector) error {
	if err := ss.Data(r); err != nil {
		return err
	}
	ss.s.mu.Lock()
	f := ss.s.dataReply
	ss.s.mu.Unlock()
	for _, rc := range ss.to {
		var e error
		if f != nil {
			if se := f(rc); se != nil {
				e = se
			}
		}
		status.SetStatus(rc, e)
	}
	return nil
}

func (ss *sinkSession) Reset()        { ss.from, ss.to = "", nil }
func (ss *sinkSession) Logout() error { return nil }
