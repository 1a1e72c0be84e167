package mailq

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/postern-mta/postern/queue"
)

// mailq's reader of defer logs agrees with the queue package's on what
// the queue package writes.
func TestReasonsMatchQueue(t *testing.T) {
	l := newLayout(t)
	id := queue.NewID(arrival, 77)
	recs := []queue.LogRecord{
		{Recipient: "a@x.test", Offset: 120, Status: "4.4.1", Action: "delayed", Reason: "plain", Time: arrival},
		{Recipient: "b\\c@x.test", Offset: 140, Reason: "multi\nline\r\nwith \\n and = signs", RemoteMTA: "dns; mx"},
		{Recipient: "c@x.test", Reason: ""},
	}
	if err := l.AppendLog(queue.Defer, id, recs); err != nil {
		t.Fatal(err)
	}
	want, err := l.ReadLog(queue.Defer, id)
	if err != nil {
		t.Fatal(err)
	}
	got, err := readReasons(l.Path(queue.Defer, id))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d records, queue reads %d", len(got), len(want))
	}
	for i := range got {
		w := want[i]
		if got[i] != (reasonRecord{recipient: w.Recipient, offset: w.Offset, reason: w.Reason}) {
			t.Errorf("record %d: %+v, queue reads %+v", i, got[i], w)
		}
	}
	// No log: no reasons, no error.
	if got, err := readReasons(l.Path(queue.Defer, queue.NewID(arrival, 78))); got != nil || err != nil {
		t.Errorf("missing log: %v, %v", got, err)
	}
}

func TestParseReasons(t *testing.T) {
	data := "recipient=a@x\noffset=12\nreason=first\n\ngarbage line\nrecipient=b@x\nreason=second\nunknown=1\n\nrecipient=c@x\nreason=unfinished"
	got := parseReasons([]byte(data))
	want := []reasonRecord{{"a@x", 12, "first"}, {"b@x", 0, "second"}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestReadSmallFileLimit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big")
	os.WriteFile(path, make([]byte, 100<<10), 0o600)
	if _, err := readSmallFile(path, nil, 64<<10); err == nil {
		t.Error("no error for a file over the limit")
	}
	b, err := readSmallFile(path, make([]byte, 0, 10), 1<<20)
	if err != nil || len(b) != 100<<10 {
		t.Errorf("%d bytes, %v", len(b), err)
	}
	link := filepath.Join(t.TempDir(), "link")
	os.Symlink(path, link)
	if _, err := readSmallFile(link, nil, 1<<20); err == nil {
		t.Error("a symbolic link was followed")
	}
}

// Whatever the log holds, parsing does not fail; where the queue
// package's stricter reader accepts it, both agree.
func FuzzParseReasons(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/deferlog/*")
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	dir := f.TempDir()
	l := queue.NewLayout(dir, nil, 1)
	if err := l.MakeDirs(-1, -1); err != nil {
		f.Fatal(err)
	}
	id := queue.NewID(time.Unix(1795345639, 0), 5)
	f.Fuzz(func(t *testing.T, data []byte) {
		got := parseReasons(data)
		if err := os.WriteFile(l.Path(queue.Defer, id), data, 0o600); err != nil {
			t.Fatal(err)
		}
		want, err := l.ReadLog(queue.Defer, id)
		if err != nil {
			return
		}
		if len(got) != len(want) {
			t.Fatalf("%d records, queue reads %d", len(got), len(want))
		}
		for i := range got {
			if got[i].recipient != want[i].Recipient || got[i].reason != want[i].Reason ||
				(want[i].Offset != 0 && got[i].offset != want[i].Offset) {
				t.Fatalf("record %d: %+v, queue reads %+v", i, got[i], want[i])
			}
		}
	})
}
