package postsuper

import (
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/proto"
	"github.com/postern-mta/postern/queue"
)

var arrival = time.Date(2026, 11, 22, 11, 7, 19, 562475000, time.UTC)

// fixture is a queue and a Super working on it.
type fixture struct {
	t   *testing.T
	l   *queue.Layout
	cfg Config
	out bytes.Buffer
	now time.Time
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	root := t.TempDir()
	l := queue.NewLayout(root, []string{queue.Deferred, queue.Defer}, 1)
	if err := l.MakeDirs(-1, -1); err != nil {
		t.Fatal(err)
	}
	return &fixture{t: t, l: l, now: time.Now(), cfg: Config{
		Layout:      l,
		CleanupPath: proto.PrivatePath(root, "cleanup"),
		PickupPath:  proto.PublicPath(root, "pickup"),
	}}
}

// run carries out req and returns what postsuper printed.
func (f *fixture) run(req Request) (string, error) {
	f.t.Helper()
	f.out.Reset()
	s := New(f.cfg, &f.out, 0)
	s.now = func() time.Time { return f.now }
	err := s.Run(context.Background(), req)
	return f.out.String(), err
}

// expect runs req and checks its output.
func (f *fixture) expect(req Request, want ...string) {
	f.t.Helper()
	got, err := f.run(req)
	if err != nil {
		f.t.Fatalf("Run: %v (output %q)", err, got)
	}
	w := strings.Join(want, "\n") + "\n"
	if len(want) == 0 {
		w = ""
	}
	if got != w {
		f.t.Errorf("output:\n%s\nwant:\n%s", got, w)
	}
}

// add writes a message into q and returns its ID.
func (f *fixture) add(q string, rcpts ...string) string {
	f.t.Helper()
	w, err := f.l.NewWriter(q)
	if err != nil {
		f.t.Fatal(err)
	}
	defer w.Abort()
	env := &queue.Envelope{
		Arrival: arrival, Sender: "alice@mx.example.test", FullName: "Alice", DSNRet: "HDRS", DSNEnvID: "env1",
		Attrs: []queue.Attr{{Name: "client_address", Value: "192.0.2.7"}, {Name: "rewrite_context", Value: "remote"}, {Name: "content_filter", Value: "old:filter"}},
	}
	for _, r := range rcpts {
		env.Recipients = append(env.Recipients, queue.Recipient{Addr: r, Orig: "orig-" + r, Notify: "FAILURE"})
	}
	w.SetEnvelope(env)
	io.WriteString(w, "Subject: test\n\nbody\n")
	if err := w.Commit(); err != nil {
		f.t.Fatal(err)
	}
	return w.ID()
}

// where returns the queue message id is in, or "".
func (f *fixture) where(id string) string {
	q, _, err := f.l.Find(id, queue.Maildrop, queue.Incoming, queue.Active, queue.Deferred, queue.Hold, queue.Corrupt)
	if err != nil {
		return ""
	}
	return q
}

func (f *fixture) mustBe(id, q string) {
	f.t.Helper()
	if got := f.where(id); got != q {
		f.t.Errorf("%s is in %q, want %q", id, got, q)
	}
}

func (f *fixture) addLog(lq, id string) {
	f.t.Helper()
	if err := f.l.AppendLog(lq, id, []queue.LogRecord{{Recipient: "x@y.test", Reason: "why"}}); err != nil {
		f.t.Fatal(err)
	}
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// fakeCleanup serves the cleanup protocol on path: each submission is
// recorded and answered by answer.
type fakeCleanup struct {
	mu  sync.Mutex
	got []submission
}

type submission struct {
	open    proto.CleanupOpen
	content string
}

func startCleanup(t *testing.T, path string, answer func(*proto.CleanupOpen) *proto.CleanupResult) *fakeCleanup {
	t.Helper()
	os.MkdirAll(filepath.Dir(path), 0o700)
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	fc := &fakeCleanup{}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer nc.Close()
				c, err := proto.Accept(nc, proto.ServiceCleanup, proto.VersionCleanup)
				if err != nil {
					return
				}
				srv := proto.CleanupServer{C: c}
				for {
					o, err := srv.Next()
					if err != nil {
						return
					}
					res := answer(o)
					if res.Status != nil && res.QueueID == "" {
						srv.Opened(proto.CleanupOpened{Status: res.Status})
						continue
					}
					srv.Opened(proto.CleanupOpened{QueueID: res.QueueID})
					b, _ := io.ReadAll(srv.Content())
					fc.mu.Lock()
					fc.got = append(fc.got, submission{*o, string(b)})
					fc.mu.Unlock()
					srv.Done(*res)
				}
			}()
		}
	}()
	return fc
}

func (fc *fakeCleanup) submissions() []submission {
	fc.mu.Lock()
	defer fc.mu.Unlock()
	return append([]submission(nil), fc.got...)
}
