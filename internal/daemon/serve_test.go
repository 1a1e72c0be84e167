package daemon

import (
	"bufio"
	"context"
	"net"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

func TestParseArgs(t *testing.T) {
	opts, rest, err := ParseArgs([]string{"-o", "syslog_name=postern/submission", "-osmtpd_tls_security_level=encrypt", "flags=DRhu", "argv=/bin/cat"})
	if err != nil {
		t.Fatal(err)
	}
	if len(opts) != 2 || opts[0].Name != "syslog_name" || opts[0].Value != "postern/submission" || opts[1].Value != "encrypt" {
		t.Errorf("opts = %+v", opts)
	}
	if len(rest) != 2 || rest[1] != "argv=/bin/cat" {
		t.Errorf("rest = %v", rest)
	}
	if _, _, err := ParseArgs([]string{"-o"}); err == nil {
		t.Error("dangling -o accepted")
	}
	if _, _, err := ParseArgs([]string{"-o", "novalue"}); err == nil {
		t.Error("-o without = accepted")
	}
}

// echo is a server: one line in, one line out, idle in between. A "slow"
// request reports that it started, then waits for proceed.
func echo(started chan<- struct{}, proceed <-chan struct{}) func(context.Context, *Conn) {
	return func(ctx context.Context, c *Conn) {
		br := bufio.NewReader(c)
		for {
			c.SetIdle(true)
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			c.SetIdle(false)
			if line == "slow\n" {
				started <- struct{}{}
				<-proceed
			}
			c.Write([]byte(line))
		}
	}
}

func TestServeConnsGracefulStop(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	started, proceed := make(chan struct{}, 1), make(chan struct{})
	go func() { done <- ServeConns(ctx, []net.Listener{ln}, 0, 5*time.Second, echo(started, proceed)) }()

	idle, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	busy, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	busy.Write([]byte("slow\n"))
	<-started
	cancel()
	// The idle connection is closed at once, while the busy one works on.
	idle.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := idle.Read(make([]byte, 1)); err == nil {
		t.Fatal("idle connection left open after stop")
	}
	close(proceed)
	// The busy request still gets its answer; the idle connection is closed.
	br := bufio.NewReader(busy)
	busy.SetReadDeadline(time.Now().Add(5 * time.Second))
	if line, err := br.ReadString('\n'); err != nil || line != "slow\n" {
		t.Fatalf("busy request lost in stop: %q, %v", line, err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ServeConns did not return")
	}
}

func TestServeConnsMaxProc(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	var active, peak atomic.Int32
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	release := make(chan struct{})
	go ServeConns(ctx, []net.Listener{ln}, 2, time.Second, func(ctx context.Context, c *Conn) {
		n := active.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		<-release
		active.Add(-1)
	})
	var conns []net.Conn
	for range 5 {
		c, err := net.Dial("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	deadline := time.Now().Add(5 * time.Second)
	for active.Load() < 2 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // give a third handler the chance to (wrongly) start
	if p := peak.Load(); p != 2 {
		t.Fatalf("peak concurrency %d, want 2", p)
	}
	close(release)
	for _, c := range conns {
		c.Close()
	}
}

func TestIdleExit(t *testing.T) {
	stopped := make(chan struct{})
	done := make(chan struct{})
	defer close(done)
	Busy()
	go watchIdle(30*time.Millisecond, func() { close(stopped) }, done)
	select {
	case <-stopped:
		t.Fatal("stopped while busy")
	case <-time.After(150 * time.Millisecond):
	}
	Done()
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("not stopped after max_idle without work")
	}
}

// A client accepted just before a graceful stop, whose handler has not yet
// said it is busy, is served, not dropped (an SMTP client during a
// reload).
func TestServeConnsStopKeepsNewClient(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	accepted, stopped := make(chan struct{}), make(chan struct{})
	done := make(chan error)
	var n atomic.Int32
	go func() {
		done <- ServeConns(ctx, []net.Listener{ln}, 0, 5*time.Second, func(ctx context.Context, c *Conn) {
			if n.Add(1) > 1 {
				return // the probes below
			}
			close(accepted)
			<-stopped // the stop begins before the session says it is busy
			c.SetIdle(false)
			c.Write([]byte("220 hello\n"))
		})
	}()
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	<-accepted
	cancel()
	// ServeConns closes the listeners, then the idle connections: once
	// nobody answers on the socket, the stop is under way.
	deadline := time.Now().Add(5 * time.Second)
	for {
		probe, err := net.Dial("unix", path)
		if err != nil {
			break
		}
		probe.Close()
		if time.Now().After(deadline) {
			t.Fatal("the listener is still open after the stop")
		}
		time.Sleep(time.Millisecond)
	}
	close(stopped)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if line, err := bufio.NewReader(c).ReadString('\n'); err != nil || line != "220 hello\n" {
		t.Fatalf("client connected before the stop got %q, %v", line, err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// A request that arrives as the stop closes idle connections is seen as
// such: SetBusy says the connection is gone, so the handler drops the
// request instead of acting on it unanswered.
func TestSetBusyAfterStopClosedIdle(t *testing.T) {
	a, b := net.Pipe()
	defer b.Close()
	srv := &connServer{conns: make(map[*Conn]struct{})}
	c := &Conn{Conn: a, srv: srv, idle: true}
	srv.conns[c] = struct{}{}
	srv.closeIdle()
	if c.SetBusy() {
		t.Error("SetBusy on a connection the stop closed said it is open")
	}

	x, y := net.Pipe()
	defer x.Close()
	defer y.Close()
	srv = &connServer{conns: make(map[*Conn]struct{})}
	c = &Conn{Conn: x, srv: srv, idle: true}
	srv.conns[c] = struct{}{}
	if !c.SetBusy() {
		t.Error("SetBusy on an open connection said it is closed")
	}
	srv.closeIdle()
	if !c.SetBusy() {
		t.Error("the stop closed a busy connection")
	}
}
