package bounce

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/dsn"
	"github.com/postern-mta/postern/internal/maillog"
	"github.com/postern-mta/postern/internal/mtatest"
	"github.com/postern-mta/postern/internal/proto"
	"github.com/postern-mta/postern/queue"
)

// now is the test clock: every report is made at this moment.
var now = time.Date(2026, 11, 22, 11, 7, 51, 0, time.UTC)

// newQID is the fake cleanup's answer: the n-th message is queued as
// NEWQIDn.
func newQID(n int, _ *proto.CleanupOpen) *proto.CleanupResult {
	return &proto.CleanupResult{QueueID: fmt.Sprintf("NEWQID%d", n)}
}

// refuse makes the fake cleanup refuse every message with st.
func refuse(st *dsn.Status) mtatest.CleanupAnswer {
	return func(int, *proto.CleanupOpen) *proto.CleanupResult { return &proto.CleanupResult{Status: st} }
}

// fixture is a queue tree, a fake cleanup and a bounce server.
type fixture struct {
	t       testing.TB
	layout  *queue.Layout
	cleanup *mtatest.FakeCleanup
	srv     *server
	logBuf  *mtatest.LogBuffer
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
		MailName:            "Postern",
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
	path := filepath.Join(shortDir(t), "cleanup")
	fc := mtatest.StartCleanup(t, path, newQID)
	c := testConfig(layout, path)
	if change != nil {
		change(&c)
	}
	buf := &mtatest.LogBuffer{}
	s := newServer(c, maillog.New(buf, "postern", "bounce", 42))
	t.Cleanup(s.close)
	return &fixture{t: t, layout: layout, cleanup: fc, srv: s, logBuf: buf}
}

// queueMessage writes a message into queueName and returns its ID.
func (fx *fixture) queueMessage(queueName string, env *queue.Envelope, content string) string {
	fx.t.Helper()
	return mtatest.WriteQueueFile(fx.t, fx.layout, queueName, env, content)
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
func render(msgs []mtatest.Submission, origID string) string {
	var b strings.Builder
	for _, m := range msgs {
		var rcpts []string
		for _, r := range m.Open.Recipients {
			rcpts = append(rcpts, r.Addr)
		}
		var attrs []string
		for _, a := range m.Open.Attrs {
			attrs = append(attrs, a.Name+"="+a.Value)
		}
		fmt.Fprintf(&b, "=== source=%s flags=%d sender=<%s> rcpt=<%s> attrs=%s\n",
			m.Open.Source, m.Open.Flags, m.Open.Sender, strings.Join(rcpts, ">,<"), strings.Join(attrs, ","))
		b.WriteString(m.Content)
	}
	return strings.ReplaceAll(b.String(), origID, "ORIGQID")
}
