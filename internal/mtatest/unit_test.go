package mtatest

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/postern-mta/postern/internal/dsn"
	"github.com/postern-mta/postern/internal/proto"
	"github.com/postern-mta/postern/queue"
)

func submit(t *testing.T, path, sender string) (*proto.CleanupResult, error) {
	t.Helper()
	cl, err := proto.DialCleanup(context.Background(), path)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	return cl.Submit(context.Background(), &proto.CleanupOpen{Sender: sender, Recipients: []proto.Rcpt{{Addr: "x@y.test"}}}, strings.NewReader("Subject: "+sender+"\n\n"))
}

func TestFakeCleanup(t *testing.T) {
	path := filepath.Join(t.TempDir(), "public", "cleanup")
	f := StartCleanup(t, path, nil)
	if res, err := submit(t, path, "a"); err != nil || res.QueueID != "QID1" {
		t.Fatalf("submit: %+v, %v", res, err)
	}
	f.SetAnswer(func(n int, o *proto.CleanupOpen) *proto.CleanupResult {
		return &proto.CleanupResult{Status: dsn.Perm("5.7.1", "no")}
	})
	var st *dsn.Status
	if _, err := submit(t, path, "b"); !errors.As(err, &st) || st.Enhanced != "5.7.1" {
		t.Errorf("refused submission: %v", err)
	}
	got := f.Messages()
	if len(got) != 1 || got[0].Open.Sender != "a" || got[0].Content != "Subject: a\n\n" || got[0].QueueID != "QID1" {
		t.Errorf("messages %+v", got)
	}
	f.Stop()
	if _, err := submit(t, path, "c"); err == nil {
		t.Error("submitted after Stop")
	}
}

func TestWriteQueueFile(t *testing.T) {
	l := queue.NewLayout(t.TempDir(), nil, 1)
	if err := l.MakeDirs(-1, -1); err != nil {
		t.Fatal(err)
	}
	id := WriteQueueFile(t, l, queue.Active, &queue.Envelope{Sender: "a@x.test", Recipients: []queue.Recipient{{Addr: "b@y.test"}}}, "Subject: x\n\nbody\n")
	f, err := queue.Open(l.Path(queue.Active, id), false)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Envelope.Sender != "a@x.test" || len(f.Envelope.Recipients) != 1 || f.Size() != int64(len("Subject: x\n\nbody\n")) {
		t.Errorf("queue file %+v, size %d", f.Envelope, f.Size())
	}
}
