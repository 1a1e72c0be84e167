package postsuper

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/mtatest"
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
	// maillog is the mail log runCommand gives the command.
	maillog string
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
	env := &queue.Envelope{
		Arrival: arrival, Sender: "alice@mx.example.test", FullName: "Alice", DSNRet: "HDRS", DSNEnvID: "env1",
		Attrs: []queue.Attr{{Name: "client_address", Value: "192.0.2.7"}, {Name: "rewrite_context", Value: "remote"}, {Name: "content_filter", Value: "old:filter"}},
	}
	for _, r := range rcpts {
		env.Recipients = append(env.Recipients, queue.Recipient{Addr: r, Orig: "orig-" + r, Notify: "FAILURE"})
	}
	return mtatest.WriteQueueFile(f.t, f.l, q, env, "Subject: test\n\nbody\n")
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

// startCleanup serves the cleanup protocol on path: each submission is
// recorded and answered by answer.
func startCleanup(t *testing.T, path string, answer func(*proto.CleanupOpen) *proto.CleanupResult) *mtatest.FakeCleanup {
	t.Helper()
	return mtatest.StartCleanup(t, path, func(_ int, o *proto.CleanupOpen) *proto.CleanupResult { return answer(o) })
}
