package qmgr

import (
	"context"
	"net"
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
