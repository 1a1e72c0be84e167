package bounce

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/dsn"
	"github.com/postern-mta/postern/internal/maillog"
	"github.com/postern-mta/postern/internal/proto"
	"github.com/postern-mta/postern/queue"
)

// now is the test clock: every report is made at this moment.
var now = time.Date(2026, 11, 22, 11, 7, 51, 0, time.UTC)

// submitted is one message the fake cleanup received.
type submitted struct {
	open    proto.CleanupOpen
	content string
}

// fakeCleanup is a cleanup service of our own protocol that records
// what bounce submits and answers with queue IDs NEWQID1, NEWQID2, …
type fakeCleanup struct {
	t    testing.TB
	path string
	ln   net.Listener

	mu     sync.Mutex
	msgs   []submitted
	refuse *dsn.Status // answer every Open with this
	// hangUp closes each connection after one message, as a cleanup
	// that restarted would leave the pooled connection.
	hangUp bool
	wg     sync.WaitGroup
}

func newFakeCleanup(t testing.TB, dir string) *fakeCleanup {
	t.Helper()
	path := filepath.Join(dir, "cleanup")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeCleanup{t: t, path: path, ln: ln}
	f.wg.Add(1)
	go f.serve()
	t.Cleanup(f.close)
	return f
}

func (f *fakeCleanup) close() {
	f.ln.Close()
	f.wg.Wait()
}

func (f *fakeCleanup) serve() {
	defer f.wg.Done()
	for {
		nc, err := f.ln.Accept()
		if err != nil {
			return
		}
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			defer nc.Close()
			f.conn(nc)
		}()
	}
}

func (f *fakeCleanup) conn(nc net.Conn) {
	c, err := proto.Accept(nc, proto.ServiceCleanup, proto.VersionCleanup)
	if err != nil {
		return
	}
	srv := &proto.CleanupServer{C: c}
	for {
		o, err := srv.Next()
		if err != nil {
			return
		}
		f.mu.Lock()
		refuse := f.refuse
		id := fmt.Sprintf("NEWQID%d", len(f.msgs)+1)
		f.mu.Unlock()
		if refuse != nil {
			srv.Opened(proto.CleanupOpened{Status: refuse})
			continue
		}
		if err := srv.Opened(proto.CleanupOpened{QueueID: id}); err != nil {
			return
		}
		body, err := io.ReadAll(srv.Content())
		if err != nil {
			return
		}
		f.mu.Lock()
		f.msgs = append(f.msgs, submitted{open: *o, content: string(body)})
		f.mu.Unlock()
		if err := srv.Done(proto.CleanupResult{QueueID: id}); err != nil {
			return
		}
		if f.hangUp {
			return
		}
	}
}

func (f *fakeCleanup) messages() []submitted {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]submitted(nil), f.msgs...)
}

// fixture is a queue tree, a fake cleanup and a bounce server.
type fixture struct {
	t       testing.TB
	layout  *queue.Layout
	cleanup *fakeCleanup
	srv     *server
	logBuf  *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// shortDir is a temporary directory with a path short enough for a Unix
// socket.
func shortDir(t testing.TB) string {
	t.Helper()
	d, err := os.MkdirTemp("", "bnc")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

func testConfig(layout *queue.Layout, cleanupPath string) Config {
	return Config{
		Layout:              layout,
		CleanupPaths:        []string{filepath.Join(filepath.Dir(cleanupPath), "private-cleanup"), cleanupPath},
		MyHostname:          "mx.example.test",
		BounceNotice:        "postmaster@mx.example.test",
		TwoBounceNotice:     "postmaster@mx.example.test",
		DelayNotice:         "postmaster@mx.example.test",
		DoubleBounceSender:  "double-bounce@mx.example.test",
		BounceSizeLimit:     50000,
		MaxQueueLifetime:    5 * 24 * time.Hour,
		BounceQueueLifetime: 5 * 24 * time.Hour,
		Timeout:             10 * time.Second,
		Now:                 func() time.Time { return now },
		Location:            time.UTC,
	}
}

func newFixture(t testing.TB, change func(*Config)) *fixture {
	t.Helper()
	layout := queue.NewLayout(t.TempDir(), []string{queue.Deferred, queue.Defer}, 1)
	if err := layout.MakeDirs(-1, -1); err != nil {
		t.Fatal(err)
	}
	fc := newFakeCleanup(t, shortDir(t))
	c := testConfig(layout, fc.path)
	if change != nil {
		change(&c)
	}
	buf := &syncBuffer{}
	s := newServer(c, maillog.New(buf, "postern", "bounce", 42))
	t.Cleanup(s.close)
	return &fixture{t: t, layout: layout, cleanup: fc, srv: s, logBuf: buf}
}

// queueMessage writes a message into queueName and returns its ID.
func (fx *fixture) queueMessage(queueName string, env *queue.Envelope, content string) string {
	fx.t.Helper()
	w, err := fx.layout.NewWriter(queueName)
	if err != nil {
		fx.t.Fatal(err)
	}
	defer w.Abort()
	w.SetEnvelope(env)
	if _, err := io.WriteString(w, content); err != nil {
		fx.t.Fatal(err)
	}
	if err := w.Commit(); err != nil {
		fx.t.Fatal(err)
	}
	return w.ID()
}

// offsets returns the record offsets of the message's recipients, as qmgr
// passes them in log entries.
func (fx *fixture) offsets(queueName, id string) []int64 {
	fx.t.Helper()
	f, err := queue.Open(fx.layout.Path(queueName, id), false)
	if err != nil {
		fx.t.Fatal(err)
	}
	defer f.Close()
	var offs []int64
	for _, r := range f.Envelope.Recipients {
		offs = append(offs, r.Offset)
	}
	return offs
}

func (fx *fixture) call(req *proto.BounceRequest) *proto.BounceReply {
	fx.t.Helper()
	return fx.srv.serve(context.Background(), req)
}

func (fx *fixture) appendLog(log, queueName, id string, entries ...proto.LogEntry) {
	fx.t.Helper()
	rep := fx.call(&proto.BounceRequest{Op: proto.BounceOpAppend, Log: log, Queue: queueName, QueueID: id, Entries: entries})
	if rep.Status != nil {
		fx.t.Fatalf("append to %s log: %v", log, rep.Status)
	}
}

func (fx *fixture) notify(report, queueName, id string) *proto.BounceReply {
	fx.t.Helper()
	return fx.call(&proto.BounceRequest{Op: proto.BounceOpNotify, Report: report, Queue: queueName, QueueID: id})
}

func (fx *fixture) logExists(logQueue, id string) bool {
	_, err := os.Stat(fx.layout.Path(logQueue, id))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		fx.t.Fatal(err)
	}
	return err == nil
}

// render gives what the fake cleanup received, each message after a line
// with its envelope, with the original's queue ID replaced by ORIGQID so
// that the text does not depend on the inode the test got.
func render(msgs []submitted, origID string) string {
	var b strings.Builder
	for _, m := range msgs {
		var rcpts []string
		for _, r := range m.open.Recipients {
			rcpts = append(rcpts, r.Addr)
		}
		var attrs []string
		for _, a := range m.open.Attrs {
			attrs = append(attrs, a.Name+"="+a.Value)
		}
		fmt.Fprintf(&b, "=== source=%s flags=%d sender=<%s> rcpt=<%s> attrs=%s\n",
			m.open.Source, m.open.Flags, m.open.Sender, strings.Join(rcpts, ">,<"), strings.Join(attrs, ","))
		b.WriteString(m.content)
	}
	return strings.ReplaceAll(b.String(), origID, "ORIGQID")
}
