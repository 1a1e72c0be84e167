package qmgr

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/proto"
	"github.com/postern-mta/postern/queue"
)

func TestControlSocket(t *testing.T) {
	b := newBench(t)
	smtp := b.agent("smtp", &fakeAgent{})
	b.start(testConfig(b.dir))
	path := proto.PublicPath(b.dir, "qmgr")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.q.serveControl(ctx, []net.Listener{ln}) }()
	defer func() { cancel(); <-done }()

	// A message that arrives without a wake-up is found by the next one.
	id := b.write(queue.Incoming, queue.Envelope{Sender: "a@mx.example.test"}, "x@remote.test")
	if err := proto.Nudge(path, proto.ServiceQmgr, proto.VersionQmgr); err != nil {
		t.Fatal(err)
	}
	b.waitLog(id + ": removed")

	cctx, ccancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer ccancel()
	rep, err := proto.Control(cctx, path, proto.ServiceQmgr, proto.VersionQmgr, proto.ControlRequest{Op: proto.OpFlushID, ID: "bad/id"})
	if err == nil || rep.Status == nil || rep.Status.Code != 501 {
		t.Errorf("flush-id of a bad ID: %+v, %v", rep, err)
	}
	rep, err = proto.Control(cctx, path, proto.ServiceQmgr, proto.VersionQmgr, proto.ControlRequest{Op: "reboot"})
	if err == nil {
		t.Errorf("unknown op answered %+v", rep)
	}
	rep, err = proto.Control(cctx, path, proto.ServiceQmgr, proto.VersionQmgr, proto.ControlRequest{Op: proto.OpFlush})
	if err != nil || rep.Count != 0 {
		t.Errorf("flush of an empty queue: %+v, %v", rep, err)
	}
	if n := len(smtp.requests()); n != 1 {
		t.Errorf("%d deliveries, want 1", n)
	}
}

// A client that keeps its connection between wake-ups (cleanup does) and
// then falls silent is dropped after qmgr_ipc_timeout without a warning:
// an idle connection is not a fault worth a line every quiet minute.
func TestIdleControlConnectionClosedQuietly(t *testing.T) {
	b := newBench(t)
	cfg := testConfig(b.dir)
	cfg.IPCTimeout = 100 * time.Millisecond
	b.start(cfg)
	path := proto.PublicPath(b.dir, "qmgr")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.q.serveControl(ctx, []net.Listener{ln}) }()
	defer func() { cancel(); <-done }()

	dctx, dcancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer dcancel()
	c, err := proto.Dial(dctx, path, proto.ServiceQmgr, proto.VersionQmgr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Timeout = 5 * time.Second
	if err := c.Send(proto.ControlRequest{Op: proto.OpWakeup}); err != nil {
		t.Fatal(err)
	}
	var rep proto.ControlReply
	if err := c.Recv(&rep); err != nil {
		t.Fatal(err)
	}
	// qmgr closes the idle connection: the next read ends.
	if err := c.Recv(&rep); err == nil {
		t.Fatalf("an idle connection got %+v", rep)
	}
	if strings.Contains(b.logs.String(), "warning") {
		t.Errorf("an idle connection was logged:\n%s", b.logs.String())
	}
}
