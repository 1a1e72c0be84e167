package agent

import (
	"context"
	"errors"
	"io"
	"net"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/dsn"
	"github.com/postern-mta/postern/internal/maillog"
	"github.com/postern-mta/postern/internal/mtatest"
	"github.com/postern-mta/postern/internal/proto"
)

// served is an agent running Serve on a Unix socket.
type served struct {
	sock     string
	log      *mtatest.LogBuffer
	stop     context.CancelFunc
	finished chan struct{} // closed when Serve has returned
	err      error         // what it returned
}

func serve(t *testing.T, o Options, deliver DeliverFunc) *served {
	t.Helper()
	s := &served{sock: filepath.Join(t.TempDir(), "agent"), log: &mtatest.LogBuffer{}, finished: make(chan struct{})}
	ln := mtatest.ListenUnix(t, s.sock)
	o.Log = maillog.New(s.log, "postern", "agent", 7)
	ctx, cancel := context.WithCancel(context.Background())
	s.stop = cancel
	go func() {
		defer close(s.finished)
		s.err = Serve(ctx, []net.Listener{ln}, o, deliver)
	}()
	t.Cleanup(func() {
		if err := s.wait(); err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return s
}

// wait stops the agent and returns what Serve returned.
func (s *served) wait() error {
	s.stop()
	<-s.finished
	return s.err
}

func (s *served) dial(t *testing.T) *proto.DeliverClient { return mtatest.DialDeliver(t, s.sock) }

// delivered answers every recipient with 2.0.0 and counts requests.
func delivered(n *atomic.Int32) DeliverFunc {
	return func(_ context.Context, req *proto.DeliverRequest) *proto.DeliverReply {
		n.Add(1)
		reply := &proto.DeliverReply{}
		for _, r := range req.Recipients {
			reply.Results = append(reply.Results, proto.RcptResult{Status: dsn.OK("2.0.0", "ok"), Action: proto.ActionDelivered, Reason: "to " + r.Addr})
		}
		return reply
	}
}

func request(id string, rcpts ...string) *proto.DeliverRequest {
	req := &proto.DeliverRequest{Queue: "active", QueueID: id, Transport: "test"}
	for _, r := range rcpts {
		req.Recipients = append(req.Recipients, proto.DeliverRcpt{Addr: r})
	}
	return req
}

// One connection carries request after request; each gets its own reply.
func TestRequestsOnOneConnection(t *testing.T) {
	var n atomic.Int32
	s := serve(t, Options{Grace: time.Second, IdleLimit: time.Minute}, delivered(&n))
	c := s.dial(t)
	for i, id := range []string{"AAA", "BBB", "CCC"} {
		rep, err := c.Deliver(context.Background(), request(id, "a@x.test", "b@x.test"), 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Results) != 2 || rep.Results[1].Reason != "to b@x.test" {
			t.Errorf("request %d: reply %+v", i, rep)
		}
	}
	if n.Load() != 3 {
		t.Errorf("%d deliveries, want 3", n.Load())
	}
	c.Close()
	if err := s.wait(); err != nil {
		t.Errorf("Serve: %v", err)
	}
	if got := s.log.String(); got != "" {
		t.Errorf("qmgr hanging up logged:\n%s", got)
	}
}

// A delivery under way when the stop begins finishes and is answered;
// Serve returns after it.
func TestStopLetsDeliveryFinish(t *testing.T) {
	started, release := make(chan struct{}), make(chan struct{})
	var ctxErr atomic.Value
	s := serve(t, Options{Grace: 10 * time.Second}, func(ctx context.Context, req *proto.DeliverRequest) *proto.DeliverReply {
		close(started)
		<-release
		ctxErr.Store(ctx.Err() != nil)
		return &proto.DeliverReply{Results: []proto.RcptResult{{Status: dsn.OK("2.0.0", "late"), Action: proto.ActionDelivered}}}
	})
	c := s.dial(t)
	replied := make(chan error, 1)
	go func() {
		rep, err := c.Deliver(context.Background(), request("AAA", "a@x.test"), 10*time.Second)
		if err == nil && (len(rep.Results) != 1 || rep.Results[0].Status.Text != "late") {
			t.Errorf("reply %+v", rep)
		}
		replied <- err
	}()
	<-started
	s.stop()
	// Serve waits for the delivery: it has not returned while the
	// delivery is held, however long that takes (50 ms here).
	select {
	case <-s.finished:
		t.Fatalf("Serve returned (%v) with a delivery under way", s.err)
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	if err := <-replied; err != nil {
		t.Errorf("delivery under way at the stop: %v", err)
	}
	if err := s.wait(); err != nil {
		t.Errorf("Serve: %v", err)
	}
	if cancelled, _ := ctxErr.Load().(bool); cancelled {
		t.Error("the delivery's context was cancelled before the grace period ended")
	}
}

// A delivery still running when the grace period ends sees its context
// cancelled, and Serve returns.
func TestGraceEnds(t *testing.T) {
	started := make(chan struct{})
	s := serve(t, Options{Grace: 100 * time.Millisecond}, func(ctx context.Context, req *proto.DeliverRequest) *proto.DeliverReply {
		close(started)
		<-ctx.Done()
		return &proto.DeliverReply{Status: dsn.Temp("4.3.0", "stopped")}
	})
	c := s.dial(t)
	go c.Deliver(context.Background(), request("AAA", "a@x.test"), 10*time.Second) //nolint:errcheck // the connection is cut
	<-started
	s.stop()
	select {
	case <-s.finished:
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after the grace period")
	}
}

// A client that does not speak the protocol is logged; one that goes
// quiet past the idle limit is not.
func TestConnectionWarnings(t *testing.T) {
	var n atomic.Int32
	s := serve(t, Options{Grace: time.Second, IdleLimit: 100 * time.Millisecond}, delivered(&n))

	nc, err := net.Dial("unix", s.sock)
	if err != nil {
		t.Fatal(err)
	}
	nc.Write([]byte("HELO\r\n"))
	mtatest.WaitFor(t, 5*time.Second, "the bad greeting's warning", func() bool {
		return strings.Contains(s.log.String(), "warning: deliver connection: ")
	})
	nc.Close()

	pc, err := proto.Dial(context.Background(), s.sock, proto.ServiceDeliver, proto.VersionDeliver)
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	if err := pc.Send(request("AAA", "a@x.test")); err != nil {
		t.Fatal(err)
	}
	var rep proto.DeliverReply
	if err := pc.Recv(&rep); err != nil {
		t.Fatal(err)
	}
	// Then nothing: the agent closes the connection after its idle limit.
	pc.Timeout = 5 * time.Second
	if err := pc.Recv(&rep); !errors.Is(err, io.EOF) {
		t.Fatalf("idle connection: read %v, want EOF", err)
	}
	if got := s.log.String(); strings.Count(got, "\n") != 1 {
		t.Errorf("log:\n%s\nwant only the bad greeting's warning", got)
	}
}
