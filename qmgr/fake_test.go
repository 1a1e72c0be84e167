package qmgr

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/daemon"
	"github.com/postern-mta/postern/internal/dsn"
	"github.com/postern-mta/postern/internal/maillog"
	"github.com/postern-mta/postern/internal/maps"
	"github.com/postern-mta/postern/internal/matchlist"
	"github.com/postern-mta/postern/internal/proto"
	"github.com/postern-mta/postern/internal/resolve"
	"github.com/postern-mta/postern/queue"
)

// This file holds the test bench: a queue directory, qmgr's event loop,
// and fake delivery agents and bounce service on real Unix sockets.

type syncBuffer struct {
	mu      sync.Mutex
	b       bytes.Buffer
	removed int // lines saying "QID: removed"
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if bytes.HasSuffix(p, []byte(": removed\n")) {
		s.removed++
	}
	return s.b.Write(p)
}

func (s *syncBuffer) removals() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.removed
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// bench is a running qmgr with its fakes.
type bench struct {
	t      testing.TB
	dir    string
	layout *queue.Layout
	q      *qmgr
	logs   *syncBuffer
	bounce *fakeBounce
	cancel context.CancelFunc
	done   chan error
	ctlCtx context.Context
}

func testConfig(dir string) Config {
	tc := TransportConfig{DestConcurrency: 20, InitialConcurrency: 5, RecipientLimit: 50, ProcessLimit: 100,
		FailedCohortLimit: 1, PositiveFeedback: Feedback{Value: 1}, NegativeFeedback: Feedback{Value: 1}}
	local := tc
	local.DestConcurrency, local.RecipientLimit = 2, 1
	deferred := tc
	deferred.Deferred = true
	flush, _ := matchlist.NewDomains([]string{"flush.test"}, true, maps.DefaultOptions())
	mydest, _ := matchlist.NewDomains([]string{"mx.example.test"}, false, maps.DefaultOptions())
	tm, _ := maps.OpenList([]string{"inline:{{error.test=error:5.1.1 no such domain}, {slow.test=slow:}, {gone.test=nosuch:}}"}, maps.DefaultOptions())
	return Config{
		QueueDir:       dir,
		HashQueues:     []string{"deferred", "defer"},
		HashDepth:      1,
		ActiveLimit:    100,
		QueueRunDelay:  time.Hour,
		MinBackoff:     200 * time.Millisecond,
		MaxBackoff:     time.Second,
		MaxLifetime:    time.Hour,
		BounceLifetime: time.Hour,
		DeliverTimeout: 10 * time.Second,
		IPCTimeout:     5 * time.Second,
		StopTimeout:    5 * time.Second,
		BounceService:  "bounce", DeferService: "defer", TraceService: "trace",
		FastFlushDomains: flush,
		Sched: SchedConfig{
			Transports:         map[string]TransportConfig{"smtp": tc, "local": local, "error": tc, "slow": deferred},
			Default:            tc,
			SuspendTime:        time.Hour,
			TransportRetryTime: time.Hour,
		},
		Resolve: resolve.Config{
			MyHostname: "mx.example.test", MyOrigin: "mx.example.test", MyDestination: mydest,
			LocalTransport: "local:mx.example.test", VirtualTransport: "virtual", RelayTransport: "relay",
			DefaultTransport: "smtp", TransportMaps: tm,
		},
	}
}

// newBench makes a queue directory and the bounce service; change the
// Config with change before start.
func newBench(t testing.TB) *bench {
	t.Helper()
	dir, err := os.MkdirTemp("", "qmgr-test-") // short: Unix socket paths are limited
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	l := queue.NewLayout(dir, []string{"deferred", "defer"}, 1)
	if err := l.MakeDirs(-1, -1); err != nil {
		t.Fatal(err)
	}
	b := &bench{t: t, dir: dir, layout: l, logs: &syncBuffer{}}
	b.bounce = &fakeBounce{layout: l}
	for _, s := range []string{"bounce", "defer", "trace"} {
		b.serve(s, b.bounce.handle)
	}
	return b
}

// serve runs handle for every connection to private/name until the test
// ends.
func (b *bench) serve(name string, handle func(context.Context, *daemon.Conn)) {
	b.t.Helper()
	b.serveStoppable(name, handle)
}

// serveStoppable is serve with a function that stops the service as a
// daemon stops: idle connections are closed at once.
func (b *bench) serveStoppable(name string, handle func(context.Context, *daemon.Conn)) (stop func()) {
	b.t.Helper()
	path := proto.PrivatePath(b.dir, name)
	os.Remove(path)
	ln, err := net.Listen("unix", path)
	if err != nil {
		b.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		daemon.ServeConns(ctx, []net.Listener{ln}, 0, time.Second, handle)
		close(done)
	}()
	stop = func() { cancel(); <-done }
	b.t.Cleanup(stop)
	return stop
}

// start runs qmgr with cfg (from testConfig(b.dir), changed as the test
// likes).
func (b *bench) start(cfg Config) {
	b.t.Helper()
	q := newQmgr(cfg, maillog.New(b.logs, "postern", "qmgr", 1))
	b.q = q
	ctx, cancel := context.WithCancel(context.Background())
	b.cancel = cancel
	b.done = make(chan error, 1)
	b.ctlCtx = ctx
	go func() { b.done <- q.run(ctx, nil) }()
	b.t.Cleanup(b.stop)
}

func (b *bench) stop() {
	if b.cancel == nil {
		return
	}
	b.cancel()
	b.cancel = nil
	select {
	case err := <-b.done:
		if err != nil {
			b.t.Errorf("run: %v", err)
		}
	case <-time.After(10 * time.Second):
		b.t.Errorf("qmgr did not stop")
	}
}

// submit writes a message into incoming (or another queue) and wakes qmgr
// when it runs.
func (b *bench) submit(q string, env queue.Envelope, rcpts ...string) string {
	b.t.Helper()
	id := b.write(q, env, rcpts...)
	if b.q != nil {
		b.q.nudge()
	}
	return id
}

// write writes a message into a queue without a wake-up.
func (b *bench) write(q string, env queue.Envelope, rcpts ...string) string {
	b.t.Helper()
	w, err := b.layout.NewWriter(q)
	if err != nil {
		b.t.Fatal(err)
	}
	if env.Arrival.IsZero() {
		env.Arrival = time.Now()
	}
	w.SetEnvelope(&env)
	fmt.Fprintf(w, "Subject: test\n\nbody of %s\n", w.ID())
	for _, r := range rcpts {
		notify := ""
		if a, n, ok := strings.Cut(r, " NOTIFY="); ok {
			r, notify = a, n
		}
		w.AddRecipient(queue.Recipient{Addr: r, Orig: r, Notify: notify})
	}
	if err := w.Commit(); err != nil {
		b.t.Fatal(err)
	}
	return w.ID()
}

// waitLog waits for a mail log line containing text.
func (b *bench) waitLog(text string) {
	b.t.Helper()
	waitFor(b.t, 10*time.Second, "log line "+text, func() bool { return strings.Contains(b.logs.String(), text) })
}

// where says which message queue holds id ("" for none).
func (b *bench) where(id string) string {
	q, _, err := b.layout.Find(id)
	if err != nil {
		return ""
	}
	return q
}

func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for d := time.Millisecond; !cond(); d = min(2*d, 20*time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(d)
	}
}

// fakeAgent is a delivery agent whose answers a test chooses.
type fakeAgent struct {
	mu       sync.Mutex
	reqs     []proto.DeliverRequest
	conns    int
	inflight int
	peak     int
	// answer gives the result for one recipient; nil means 250 2.0.0.
	answer func(req *proto.DeliverRequest, rcpt proto.DeliverRcpt) *proto.RcptResult
	// dead makes the whole destination fail.
	dead func(req *proto.DeliverRequest) bool
	// hang holds a delivery until the channel is closed.
	hang chan struct{}
	// crash makes the agent drop the connection instead of answering.
	crash func(req *proto.DeliverRequest) bool
}

func (b *bench) agent(name string, a *fakeAgent) *fakeAgent {
	b.serve(name, a.handle)
	return a
}

func (a *fakeAgent) handle(ctx context.Context, dc *daemon.Conn) {
	c, err := proto.Accept(dc, proto.ServiceDeliver, proto.VersionDeliver)
	if err != nil {
		return
	}
	a.mu.Lock()
	a.conns++
	a.mu.Unlock()
	for {
		dc.SetIdle(true)
		var req proto.DeliverRequest
		if err := c.Recv(&req); err != nil {
			return
		}
		dc.SetIdle(false)
		a.mu.Lock()
		a.reqs = append(a.reqs, req)
		a.inflight++
		a.peak = max(a.peak, a.inflight)
		answer, dead, hang, crash := a.answer, a.dead, a.hang, a.crash
		a.mu.Unlock()
		if hang != nil {
			select {
			case <-hang:
			case <-ctx.Done():
			}
		}
		rep := &proto.DeliverReply{}
		for _, r := range req.Recipients {
			res := &proto.RcptResult{Status: dsn.OK("2.0.0", "Ok"), Action: proto.ActionRelayed, Reason: "250 2.0.0 Ok"}
			if answer != nil {
				if x := answer(&req, r); x != nil {
					res = x
				}
			}
			if dead != nil && dead(&req) {
				res = &proto.RcptResult{Status: dsn.Temp("4.4.1", "connect refused"), Action: proto.ActionDelayed,
					Reason: "connect to " + req.Nexthop + "[192.0.2.1]:25: Connection refused"}
				rep.DestinationDead = true
			}
			rep.Results = append(rep.Results, *res)
		}
		a.mu.Lock()
		a.inflight--
		a.mu.Unlock()
		if crash != nil && crash(&req) {
			dc.Close()
			return
		}
		if err := c.Send(rep); err != nil {
			return
		}
	}
}

func (a *fakeAgent) requests() []proto.DeliverRequest {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]proto.DeliverRequest(nil), a.reqs...)
}

func (a *fakeAgent) set(f func(a *fakeAgent)) {
	a.mu.Lock()
	defer a.mu.Unlock()
	f(a)
}

// fakeBounce keeps the logs with the queue package, as the bounce daemon
// does, and records reports.
type fakeBounce struct {
	layout  *queue.Layout
	mu      sync.Mutex
	notices []proto.BounceRequest
	fail    bool
}

func (f *fakeBounce) handle(ctx context.Context, dc *daemon.Conn) {
	c, err := proto.Accept(dc, proto.ServiceBounce, proto.VersionBounce)
	if err != nil {
		return
	}
	for {
		dc.SetIdle(true)
		var req proto.BounceRequest
		if err := c.Recv(&req); err != nil {
			return
		}
		dc.SetIdle(false)
		var st *dsn.Status
		f.mu.Lock()
		fail := f.fail
		f.mu.Unlock()
		switch {
		case fail:
			st = dsn.Temp("4.3.0", "bounce service is failing")
		case req.Op == proto.BounceOpAppend:
			var recs []queue.LogRecord
			for _, e := range req.Entries {
				recs = append(recs, queue.LogRecord{Recipient: e.Recipient, Orig: e.Orig, Offset: e.Offset,
					Status: e.Status.Enhanced, Action: e.Action, Reason: e.Reason, Time: e.Time,
					RemoteMTA: e.RemoteMTA, DiagType: e.DiagType, Diag: e.Diag})
			}
			if err := f.layout.AppendLog(req.Log, req.QueueID, recs); err != nil {
				st = dsn.Temp("4.3.0", "%v", err)
			}
		case req.Op == proto.BounceOpNotify:
			log := map[string]string{proto.ReportBounce: queue.Bounce, proto.ReportDelay: queue.Defer,
				proto.ReportSuccess: queue.Trace, proto.ReportVerify: queue.Trace}[req.Report]
			recs, _ := f.layout.ReadLog(log, req.QueueID)
			if _, err := os.Stat(f.layout.Path(req.Queue, req.QueueID)); err != nil {
				st = dsn.Temp("4.3.0", "no message file: %v", err)
				break
			}
			req.Entries = nil
			for _, r := range recs {
				req.Entries = append(req.Entries, proto.LogEntry{Recipient: r.Recipient, Status: &dsn.Status{Enhanced: r.Status}, Action: r.Action, Reason: r.Reason,
					RemoteMTA: r.RemoteMTA, DiagType: r.DiagType, Diag: r.Diag})
			}
			f.mu.Lock()
			f.notices = append(f.notices, req)
			f.mu.Unlock()
			if req.Report != proto.ReportDelay {
				f.layout.RemoveLog(log, req.QueueID)
			}
		}
		if err := c.Send(proto.BounceReply{Status: st}); err != nil {
			return
		}
	}
}

func (f *fakeBounce) reports() []proto.BounceRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]proto.BounceRequest(nil), f.notices...)
}

func (f *fakeBounce) setFail(v bool) {
	f.mu.Lock()
	f.fail = v
	f.mu.Unlock()
}
