package showq

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/daemon"
	"github.com/postern-mta/postern/internal/maillog"
	"github.com/postern-mta/postern/internal/mtatest"
	"github.com/postern-mta/postern/internal/proto"
	"github.com/postern-mta/postern/queue"
)

// server is a showq daemon serving a temporary queue on a Unix socket.
type server struct {
	layout *queue.Layout
	path   string
	log    *mtatest.LogBuffer
	stop   func()
}

func startServer(t testing.TB, l *queue.Layout) *server {
	t.Helper()
	if l == nil {
		l = queue.NewLayout(t.TempDir(), []string{queue.Deferred, queue.Defer}, 1)
		if err := l.MakeDirs(-1, -1); err != nil {
			t.Fatal(err)
		}
	}
	path := proto.PublicPath(l.Root, "showq")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	s := &server{layout: l, path: path, log: &mtatest.LogBuffer{}}
	srv := NewServer(Config{Layout: l, EmptySender: "MAILER-DAEMON", Timeout: 10 * time.Second},
		maillog.New(s.log, "postern", "showq", 1))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- daemon.ServeConns(ctx, []net.Listener{ln}, 0, 5*time.Second, srv.Handle) }()
	var once sync.Once
	s.stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("ServeConns: %v", err)
			}
		})
	}
	t.Cleanup(s.stop)
	return s
}

func addMessage(t testing.TB, l *queue.Layout, q, sender string, rcpts ...string) string {
	t.Helper()
	env := &queue.Envelope{Sender: sender}
	for _, r := range rcpts {
		env.Recipients = append(env.Recipients, queue.Recipient{Addr: r})
	}
	return mtatest.WriteQueueFile(t, l, q, env, "Subject: x\n\nhello\n")
}

func listing(t *testing.T, path string, req proto.ShowqRequest) ([]*proto.QueueEntry, error) {
	var got []*proto.QueueEntry
	err := proto.Showq(context.Background(), path, req, func(e *proto.QueueEntry) error {
		got = append(got, e)
		return nil
	})
	return got, err
}

func TestListing(t *testing.T) {
	s := startServer(t, nil)
	held := addMessage(t, s.layout, queue.Hold, "", "bob@remote.test")
	deferred := addMessage(t, s.layout, queue.Deferred, "alice@mx.example.test", "a@remote.test", "b@remote.test")
	f, err := queue.Open(s.layout.Path(queue.Deferred, deferred), true)
	if err != nil {
		t.Fatal(err)
	}
	f.MarkDone(0)
	rcpt := f.Envelope.Recipients[1]
	f.Close()
	s.layout.AppendLog(queue.Defer, deferred, []queue.LogRecord{{Recipient: rcpt.Addr, Offset: rcpt.Offset, Reason: "connect to x: refused"}})

	got, err := listing(t, s.path, proto.ShowqRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("%d entries, want 2", len(got))
	}
	d, h := got[0], got[1]
	if d.QueueID != deferred || d.QueueName != queue.Deferred || len(d.Recipients) != 1 ||
		d.Recipients[0] != (proto.QueueRcptRef{Address: "b@remote.test", DelayReason: "connect to x: refused"}) {
		t.Errorf("deferred entry %+v", d)
	}
	if h.QueueID != held || h.QueueName != queue.Hold || h.Sender != "MAILER-DAEMON" {
		t.Errorf("held entry %+v", h)
	}

	// Narrowed to one queue.
	got, err = listing(t, s.path, proto.ShowqRequest{Queues: []string{queue.Hold}})
	if err != nil || len(got) != 1 || got[0].QueueID != held {
		t.Errorf("hold only: %v, %+v", err, got)
	}
	// Only message queues may be named.
	_, err = listing(t, s.path, proto.ShowqRequest{Queues: []string{"../etc"}})
	if err == nil || !strings.Contains(err.Error(), "not a message queue") {
		t.Errorf("bad queue name: %v", err)
	}
}

// One connection carries several requests.
func TestSeveralRequests(t *testing.T) {
	s := startServer(t, nil)
	addMessage(t, s.layout, queue.Incoming, "a@b.test", "c@d.test")
	c, err := proto.Dial(context.Background(), s.path, proto.ServiceShowq, proto.VersionShowq)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := 0; i < 3; i++ {
		if err := c.Send(proto.ShowqRequest{}); err != nil {
			t.Fatal(err)
		}
		n := 0
		for {
			var it proto.ShowqItem
			if err := c.Recv(&it); err != nil {
				t.Fatal(err)
			}
			if it.Done {
				break
			}
			n++
		}
		if n != 1 {
			t.Errorf("request %d: %d entries", i, n)
		}
	}
}

// A client of the wrong protocol is refused.
func TestWrongService(t *testing.T) {
	s := startServer(t, nil)
	_, err := proto.Dial(context.Background(), s.path, proto.ServiceQmgr, proto.VersionQmgr)
	if err == nil {
		t.Fatal("qmgr client welcomed by showq")
	}
}

// Stopping closes idle connections at once.
func TestStop(t *testing.T) {
	s := startServer(t, nil)
	c, err := proto.Dial(context.Background(), s.path, proto.ServiceShowq, proto.VersionShowq)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	s.stop()
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("stop took %s with an idle client", d)
	}
	var it proto.ShowqItem
	if err := c.Recv(&it); err == nil {
		t.Error("idle connection still open after stop")
	}
}

func TestCorruptFileLogged(t *testing.T) {
	s := startServer(t, nil)
	id := queue.NewID(time.Now(), 4242)
	writeFile(t, s.layout.Path(queue.Incoming, id), "junk")
	got, err := listing(t, s.path, proto.ShowqRequest{})
	if err != nil || len(got) != 0 {
		t.Fatalf("%v, %d entries", err, len(got))
	}
	if !strings.Contains(s.log.String(), "warning: "+filepath.Join(s.layout.Root, "incoming", id)) {
		t.Errorf("log: %q", s.log.String())
	}
}

func writeFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
