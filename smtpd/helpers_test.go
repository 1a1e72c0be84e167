package smtpd

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/addr"
	"github.com/postern-mta/postern/internal/maillog"
	"github.com/postern-mta/postern/internal/maps"
	"github.com/postern-mta/postern/internal/matchlist"
	"github.com/postern-mta/postern/internal/mtatest"
	"github.com/postern-mta/postern/internal/proto"
	"github.com/postern-mta/postern/internal/resolve"
)

// fakeSubmitter stands in for cleanup and keeps what it is given.
type fakeSubmitter struct {
	mu        sync.Mutex
	msgs      []fakeMsg
	aborted   int
	openErr   error
	finishErr error
	n         int
}

type fakeMsg struct {
	open    *proto.CleanupOpen
	content string
}

func (f *fakeSubmitter) Open(ctx context.Context, o *proto.CleanupOpen) (Submission, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.openErr != nil {
		return nil, f.openErr
	}
	f.n++
	return &fakeSub{f: f, o: o, id: fmt.Sprintf("QID%d", f.n)}, nil
}

func (f *fakeSubmitter) messages() []fakeMsg {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakeMsg(nil), f.msgs...)
}

type fakeSub struct {
	f   *fakeSubmitter
	o   *proto.CleanupOpen
	id  string
	buf bytes.Buffer
}

func (s *fakeSub) ID() string                  { return s.id }
func (s *fakeSub) Write(p []byte) (int, error) { return s.buf.Write(p) }
func (s *fakeSub) Finish(ctx context.Context) (*proto.CleanupResult, error) {
	s.f.mu.Lock()
	defer s.f.mu.Unlock()
	if s.f.finishErr != nil {
		return nil, s.f.finishErr
	}
	s.f.msgs = append(s.f.msgs, fakeMsg{open: s.o, content: s.buf.String()})
	return &proto.CleanupResult{QueueID: s.id}, nil
}
func (s *fakeSub) Abort() {
	s.f.mu.Lock()
	s.f.aborted++
	s.f.mu.Unlock()
}

// fakeResolver classifies domains from fixed lists.
type fakeResolver struct {
	local, relay, valias, vmbox []string
	fail                        bool
}

func (r fakeResolver) Resolve(ctx context.Context, a string) (resolve.Result, error) {
	if r.fail {
		return resolve.Result{}, fmt.Errorf("resolver down")
	}
	a = addr.StripSourceRoute(a)
	d := addr.Domain(a)
	res := resolve.Result{Recipient: a, Transport: "smtp", Nexthop: d, Class: resolve.ClassDefault}
	if d == "" {
		res.Recipient = a + "@mx.example.test"
		d = "mx.example.test"
	}
	switch {
	case contains(r.local, d) || d == "mx.example.test":
		res.Class, res.Transport = resolve.ClassLocal, "local"
	case contains(r.valias, d):
		res.Class, res.Transport, res.Nexthop = resolve.ClassVirtualAlias, "error", "User unknown in virtual alias table"
	case contains(r.vmbox, d):
		res.Class, res.Transport = resolve.ClassVirtualMailbox, "virtual"
	case contains(r.relay, d):
		res.Class, res.Transport = resolve.ClassRelay, "relay"
	}
	return res, nil
}

func (r fakeResolver) IsLocalDomain(ctx context.Context, d string) bool {
	return d == "" || d == "mx.example.test" || contains(r.local, d)
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// testChecks is the default restriction configuration of the tests:
// Postfix 3.7 defaults, mynetworks 10.0.0.0/8 (the test client,
// 127.0.0.1, is outside).
func testChecks(t testing.TB, mod func(*CheckConfig)) *Checker {
	t.Helper()
	nets, err := matchlist.NewNetworks([]string{"10.0.0.0/8"}, maps.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	cc := CheckConfig{
		Lists: map[string][]string{
			"smtpd_relay_restrictions": {"permit_mynetworks", "permit_sasl_authenticated", "defer_unauth_destination"},
		},
		DelayReject:              true,
		RelayBeforeRecipient:     true,
		RejectUnlistedRecipient:  true,
		ShowUnknownTable:         true,
		NullAccessKey:            "<>",
		DoubleBounceSender:       "double-bounce",
		AccessParentMatches:      true,
		AccessMapRejectCode:      554,
		AccessMapDeferCode:       450,
		RejectCode:               554,
		DeferCode:                450,
		RelayDomainsRejectCode:   554,
		InvalidHostnameCode:      501,
		NonFQDNCode:              504,
		UnknownAddressCode:       450,
		UnknownClientCode:        450,
		UnknownHostnameCode:      450,
		UnknownLocalRcptCode:     550,
		UnknownRelayRcptCode:     550,
		UnknownVirtualAliasCode:  550,
		UnknownVirtualMboxCode:   550,
		MultiRecipientBounceCode: 550,
		PlaintextCode:            450,
		MyNetworks:               nets,
		Resolver:                 fakeResolver{relay: []string{"relay.test"}, valias: []string{"valias.test"}, vmbox: []string{"vmbox.test"}},
	}
	cc.LocalRcptMaps = mustTable(t, "inline:{alice=1, bob=1, root=1}")
	if mod != nil {
		mod(&cc)
	}
	ck, err := NewChecker(cc)
	if err != nil {
		t.Fatal(err)
	}
	return ck
}

func mustTable(t testing.TB, spec string) maps.Table {
	t.Helper()
	tab, err := maps.Open(spec, maps.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	return tab
}

// testServer runs a Server on loopback.
type testServer struct {
	addr string
	sub  *fakeSubmitter
	logs *mtatest.LogBuffer
	cfg  *Config
}

func startServer(t testing.TB, cfg *Config) *testServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts := &testServer{addr: ln.Addr().String(), sub: &fakeSubmitter{}, logs: &mtatest.LogBuffer{}, cfg: cfg}
	if cfg.MyHostname == "" {
		cfg.MyHostname = "mx.example.test"
	}
	if cfg.ErrorSleepTime == 0 {
		cfg.ErrorSleepTime = -1
	}
	if cfg.MessageSizeLimit == 0 {
		cfg.MessageSizeLimit = 10240000
	}
	if cfg.RecipientLimit == 0 {
		cfg.RecipientLimit = 1000
	}
	cfg.SMTPUTF8 = true
	log := maillog.New(ts.logs, "postern", "smtpd", 42)
	srv := NewServer(cfg, log, ts.sub, nil)
	ctx, cancel := context.WithCancel(context.Background())
	mtatest.Serve(t, ln, func(c net.Conn) { srv.ServeConn(ctx, c) })
	t.Cleanup(cancel) // runs first: sessions end, then Serve waits for them
	return ts
}

// waitLog waits for a log line containing want.
func (ts *testServer) waitLog(t testing.TB, want string) string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		for _, l := range strings.Split(ts.logs.String(), "\n") {
			if strings.Contains(l, want) {
				return l
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no log line with %q in:\n%s", want, ts.logs.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// client is a line-level SMTP client for transcripts.
type client struct {
	t    testing.TB
	conn net.Conn
	r    *bufio.Reader
}

func dial(t testing.TB, ts *testServer) *client {
	t.Helper()
	c, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	cl := &client{t: t, conn: c, r: bufio.NewReader(c)}
	cl.conn.SetDeadline(time.Now().Add(20 * time.Second))
	return cl
}

// readReply reads one reply, lines joined with "\n".
func (c *client) readReply() string {
	c.t.Helper()
	var lines []string
	for {
		l, err := c.r.ReadString('\n')
		if err != nil {
			if err == io.EOF && len(lines) == 0 {
				return "EOF"
			}
			c.t.Fatalf("read reply: %v (got %q)", err, lines)
		}
		l = strings.TrimRight(l, "\r\n")
		lines = append(lines, l)
		if len(l) < 4 || l[3] != '-' {
			return strings.Join(lines, "\n")
		}
	}
}

func (c *client) send(s string) {
	c.t.Helper()
	if _, err := io.WriteString(c.conn, s); err != nil {
		c.t.Fatal(err)
	}
}

// cmd sends a command line and returns the reply.
func (c *client) cmd(line string) string {
	c.t.Helper()
	c.send(line + "\r\n")
	return c.readReply()
}

// transcript runs send/want pairs; want is a prefix of the reply.
func (c *client) transcript(steps ...string) {
	c.t.Helper()
	for i := 0; i+1 < len(steps); i += 2 {
		got := c.cmd(steps[i])
		if !strings.HasPrefix(got, steps[i+1]) {
			c.t.Fatalf("after %q: got %q, want %q", steps[i], got, steps[i+1])
		}
	}
}
