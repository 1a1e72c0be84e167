package smtp

import (
	"bufio"
	"context"
	"net"
	"net/textproto"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/maillog"
	"github.com/postern-mta/postern/internal/mtatest"
	"github.com/postern-mta/postern/internal/proto"
	"github.com/postern-mta/postern/queue"
)

// testConfig is a configuration for package tests: short timeouts, IPv4,
// no TLS, connection caching on.
func testConfig(t testing.TB) Config {
	t.Helper()
	return Config{
		QueueDir:    shortTempDir(t),
		HashQueues:  []string{"deferred", "defer"},
		HashDepth:   1,
		MyHostname:  "mx.example.test",
		HeloName:    "mx.example.test",
		DefaultPort: 25,
		Timeouts: Timeouts{
			Connect: 5 * time.Second, Helo: 5 * time.Second, StartTLS: 5 * time.Second,
			Mail: 5 * time.Second, Rcpt: 5 * time.Second, DataInit: 5 * time.Second,
			DataXfer: 5 * time.Second, DataDone: 5 * time.Second, Rset: 5 * time.Second, Quit: 5 * time.Second,
		},
		// A closed port: a test that forgets its DNS server fails fast.
		DNS:                DNSConfig{Servers: []string{"127.0.0.1:1"}, Timeout: time.Second, Attempts: 1, UseDNS: true},
		IPv4:               true,
		AddressPreference:  "any",
		MXAddressLimit:     5,
		MXSessionLimit:     2,
		RandomizeAddresses: true,
		AlwaysEHLO:         true,
		DiscardEHLO:        map[string]bool{},
		Skip5xxGreeting:    true,
		SkipQuitResponse:   true,
		LineLengthLimit:    998,
		Cache:              CacheConfig{OnDemand: true, IdleLimit: 5 * time.Second, ReuseTime: 300 * time.Second},
		IdleTimeout:        10 * time.Second,
		Grace:              2 * time.Second,
	}
}

// shortTempDir is a temporary directory with a short path, for Unix
// sockets (at most 107 bytes).
func shortTempDir(t testing.TB) string {
	t.Helper()
	d, err := os.MkdirTemp("", "smtp")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// testAgent is a real agent serving the deliver protocol on a Unix socket.
type testAgent struct {
	a      *Agent
	cfg    Config
	sock   string
	layout *queue.Layout
	log    *mtatest.LogBuffer
}

func startAgent(t testing.TB, cfg Config) *testAgent {
	t.Helper()
	ta := &testAgent{cfg: cfg, log: &mtatest.LogBuffer{}}
	ta.layout = queue.NewLayout(cfg.QueueDir, cfg.HashQueues, cfg.HashDepth)
	if err := ta.layout.MakeDirs(-1, -1); err != nil {
		t.Fatal(err)
	}
	a, err := NewAgent(cfg, maillog.New(ta.log, "postern", "smtp", 1))
	if err != nil {
		t.Fatal(err)
	}
	ta.a = a
	t.Cleanup(func() {
		a.Close()
		if t.Failed() {
			t.Logf("agent log:\n%s", ta.log)
		}
	})
	ta.sock = filepath.Join(shortTempDir(t), "smtp")
	mtatest.RunServer(t, ta.sock, func(ctx context.Context, lns []net.Listener) error { return a.Serve(ctx, lns, 0) })
	return ta
}

// queueMessage writes a message into the active queue and returns its ID.
func (ta *testAgent) queueMessage(t testing.TB, sender string, rcpts []string, content string, attrs ...queue.Attr) string {
	t.Helper()
	env := &queue.Envelope{Sender: sender, Attrs: attrs}
	for _, r := range rcpts {
		env.Recipients = append(env.Recipients, queue.Recipient{Addr: r, Orig: r})
	}
	return mtatest.WriteQueueFile(t, ta.layout, queue.Active, env, content)
}

// request builds a request for a queued message.
func request(qid, nexthop, sender string, rcpts ...string) *proto.DeliverRequest {
	now := time.Now()
	req := &proto.DeliverRequest{Queue: queue.Active, QueueID: qid, Transport: "smtp", Nexthop: nexthop, Sender: sender, Arrival: now, Active: now}
	for _, r := range rcpts {
		req.Recipients = append(req.Recipients, proto.DeliverRcpt{Addr: r})
	}
	return req
}

// deliver sends one request over the deliver protocol.
func (ta *testAgent) deliver(t testing.TB, req *proto.DeliverRequest) *proto.DeliverReply {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := proto.DialDeliver(ctx, ta.sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r, err := c.Deliver(ctx, req, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// send queues content for rcpts and delivers it to nexthop.
func (ta *testAgent) send(t testing.TB, nexthop, content string, rcpts ...string) (*proto.DeliverReply, string) {
	t.Helper()
	qid := ta.queueMessage(t, "alice@mx.example.test", rcpts, content)
	return ta.deliver(t, request(qid, nexthop, "alice@mx.example.test", rcpts...)), qid
}

// logLine returns the log line matching re, failing when there is none.
func (ta *testAgent) logLine(t *testing.T, re string) string {
	t.Helper()
	line := regexp.MustCompile(re).FindString(ta.log.String())
	if line == "" {
		t.Fatalf("no log line matching %s in:\n%s", re, ta.log)
	}
	return line
}

// scriptServer is a TCP server whose every connection runs handle: a
// hand-written server side for conversations no real server gives.
func scriptServer(t *testing.T, handle func(c *textproto.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mtatest.Serve(t, ln, func(nc net.Conn) {
		nc.SetDeadline(time.Now().Add(20 * time.Second)) //nolint:errcheck
		handle(textproto.NewConn(nc))
	})
	return ln.Addr().String()
}

// expectLine reads a line and checks its prefix (case-insensitive).
func expectLine(t *testing.T, c *textproto.Conn, prefix string) string {
	line, err := c.ReadLine()
	if err != nil {
		t.Errorf("server: waiting for %q: %v", prefix, err)
		return ""
	}
	if !strings.HasPrefix(strings.ToUpper(line), strings.ToUpper(prefix)) {
		t.Errorf("server: got %q, want %s…", line, prefix)
	}
	return line
}

// contextCanceled is a context that has ended already.
func contextCanceled() (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx, cancel
}

func newTestReader(s string) *bufio.Reader { return bufio.NewReader(strings.NewReader(s)) }

// expectEnd reads what ends a scripted conversation: QUIT, or the agent
// closing the connection (a session it kept for reuse is closed when the
// test stops the agent and its server).
func expectEnd(t *testing.T, c *textproto.Conn) {
	line, err := c.ReadLine()
	if err != nil {
		return
	}
	if !strings.EqualFold(line, "QUIT") {
		t.Errorf("server: got %q, want QUIT or the end of the connection", line)
	}
}
