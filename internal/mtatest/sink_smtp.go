package mtatest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// SinkOptions configure a sink made by NewSinkWith.
type SinkOptions struct {
	Network string // "tcp" (default) or "unix"
	Addr    string // default "127.0.0.1:0"; a socket path for "unix"
	LMTP    bool
	// TLSConfig, when set, makes the sink offer STARTTLS.
	TLSConfig *tls.Config
	// MaxMessageBytes is the SIZE the sink announces and enforces
	// (default 64 MB).
	MaxMessageBytes int64
	// ReadTimeout ends a session idle that long (default 30s).
	ReadTimeout time.Duration
	EnableDSN   bool
	NoSMTPUTF8  bool
	// MailReply, when set, answers MAIL FROM: nil accepts.
	MailReply func(from string) *smtp.SMTPError
	// DataReply, when set, answers the end of DATA (SMTP mode): nil
	// accepts.
	DataReply func() *smtp.SMTPError
}

// OptSink is a sink made by NewSinkWith: a Sink that also counts
// connections and keeps the MAIL and RCPT parameters and the TLS state of
// each transaction.
type OptSink struct {
	*Sink
	opts SinkOptions

	mu       sync.Mutex
	accepted int
	closed   int
	mails    []SinkMail
}

// SinkMail is what a client said in one transaction.
type SinkMail struct {
	From  string
	Opts  smtp.MailOptions
	Rcpts []SinkRcpt
	TLS   bool // the session was encrypted when MAIL came
}

// SinkRcpt is one RCPT command with its parameters.
type SinkRcpt struct {
	To   string
	Opts smtp.RcptOptions
}

// NewSinkWith starts a sink configured by opts; it stops when the test
// ends.
func NewSinkWith(t testing.TB, opts SinkOptions) *OptSink {
	t.Helper()
	if opts.Network == "" {
		opts.Network = "tcp"
	}
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	ln, err := net.Listen(opts.Network, opts.Addr)
	if err != nil {
		t.Fatalf("sink listen %s %s: %v", opts.Network, opts.Addr, err)
	}
	o := &OptSink{opts: opts}
	o.Sink = &Sink{Addr: ln.Addr().String(), ln: ln}
	srv := smtp.NewServer(&optBackend{o: o})
	srv.Domain = "sink.example.test"
	srv.LMTP = opts.LMTP
	srv.TLSConfig = opts.TLSConfig
	srv.AllowInsecureAuth = true
	srv.ReadTimeout = 30 * time.Second
	if opts.ReadTimeout > 0 {
		srv.ReadTimeout = opts.ReadTimeout
	}
	srv.WriteTimeout = 30 * time.Second
	srv.MaxMessageBytes = 64 << 20
	if opts.MaxMessageBytes > 0 {
		srv.MaxMessageBytes = opts.MaxMessageBytes
	}
	srv.MaxRecipients = 10000
	srv.EnableSMTPUTF8 = !opts.NoSMTPUTF8
	srv.EnableDSN = opts.EnableDSN
	o.srv = srv
	go srv.Serve(&countingListener{Listener: ln, o: o}) //nolint:errcheck // ends with Close
	t.Cleanup(func() { srv.Close() })
	return o
}

// Conns is how many connections the sink accepted.
func (o *OptSink) Conns() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.accepted
}

// ClosedConns is how many of them have ended.
func (o *OptSink) ClosedConns() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.closed
}

// Mails returns the transactions seen so far (accepted MAIL commands).
func (o *OptSink) Mails() []SinkMail {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]SinkMail(nil), o.mails...)
}

type countingListener struct {
	net.Listener
	o *OptSink
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.o.mu.Lock()
	l.o.accepted++
	l.o.mu.Unlock()
	return &countingConn{Conn: c, o: l.o}, nil
}

type countingConn struct {
	net.Conn
	o    *OptSink
	once sync.Once
}

func (c *countingConn) Close() error {
	c.once.Do(func() {
		c.o.mu.Lock()
		c.o.closed++
		c.o.mu.Unlock()
	})
	return c.Conn.Close()
}

type optBackend struct{ o *OptSink }

func (b *optBackend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	return &optSession{inner: &sinkSession{s: b.o.Sink, lmtp: b.o.opts.LMTP}, o: b.o, c: c, mail: -1}, nil
}

type optSession struct {
	inner *sinkSession
	o     *OptSink
	c     *smtp.Conn
	mail  int // index in o.mails of this transaction, -1 before MAIL
}

func (s *optSession) Mail(from string, opts *smtp.MailOptions) error {
	if f := s.o.opts.MailReply; f != nil {
		if e := f(from); e != nil {
			return e
		}
	}
	m := SinkMail{From: from}
	if opts != nil {
		m.Opts = *opts
	}
	_, m.TLS = s.c.TLSConnectionState()
	s.o.mu.Lock()
	s.o.mails = append(s.o.mails, m)
	s.mail = len(s.o.mails) - 1
	s.o.mu.Unlock()
	return s.inner.Mail(from, opts)
}

func (s *optSession) Rcpt(to string, opts *smtp.RcptOptions) error {
	if err := s.inner.Rcpt(to, opts); err != nil {
		return err
	}
	r := SinkRcpt{To: to}
	if opts != nil {
		r.Opts = *opts
	}
	s.o.mu.Lock()
	if s.mail >= 0 {
		s.o.mails[s.mail].Rcpts = append(s.o.mails[s.mail].Rcpts, r)
	}
	s.o.mu.Unlock()
	return nil
}

func (s *optSession) Data(r io.Reader) error {
	if f := s.o.opts.DataReply; f != nil {
		if e := f(); e != nil {
			io.Copy(io.Discard, r) //nolint:errcheck // refused anyway
			return e
		}
	}
	return s.inner.Data(r)
}

func (s *optSession) LMTPData(r io.Reader, status smtp.StatusCollector) error {
	return s.inner.LMTPData(r, status)
}

func (s *optSession) Reset() {
	s.mail = -1
	s.inner.Reset()
}

func (s *optSession) Logout() error { return s.inner.Logout() }

// TestCA is a certificate authority made for one test.
type TestCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	PEM  []byte // the CA certificate, for a CAfile
}

// NewTestCA makes a CA.
func NewTestCA(t testing.TB) *TestCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "Postern test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &TestCA{cert: cert, key: key, PEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// Cert issues a server certificate for names (DNS names or IP addresses).
func (ca *TestCA) Cert(t testing.TB, names ...string) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: names[0]},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// WriteCAFile writes the CA certificate under dir and returns its path.
func (ca *TestCA) WriteCAFile(t testing.TB, dir string) string {
	t.Helper()
	p := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(p, ca.PEM, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
