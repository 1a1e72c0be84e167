package mailq

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/postern-mta/postern/queue"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// newLayout returns a fresh queue tree with Postfix's default hashing.
func newLayout(t testing.TB) *queue.Layout {
	t.Helper()
	l := queue.NewLayout(t.TempDir(), []string{queue.Deferred, queue.Defer}, 1)
	if err := l.MakeDirs(-1, -1); err != nil {
		t.Fatal(err)
	}
	return l
}

var arrival = time.Date(2026, 11, 22, 11, 7, 19, 562475000, time.UTC)

// msg describes a test message.
type msg struct {
	queue   string
	sender  string
	rcpts   []string
	done    []int // indexes of recipients already delivered
	content string
	flags   uint32
	reasons map[string]string // recipient → delay reason (defer log)
}

// write commits m and returns its ID.
func write(t testing.TB, l *queue.Layout, m msg) string {
	t.Helper()
	w, err := l.NewWriter(m.queue)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	env := &queue.Envelope{Arrival: arrival, Sender: m.sender, Flags: m.flags}
	for _, r := range m.rcpts {
		env.Recipients = append(env.Recipients, queue.Recipient{Addr: r, Orig: r})
	}
	w.SetEnvelope(env)
	content := m.content
	if content == "" {
		content = "Subject: test\n\nbody\n"
	}
	if _, err := w.Write([]byte(content)); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	id := w.ID()
	if len(m.done) > 0 {
		f, err := queue.Open(l.Path(m.queue, id), true)
		if err != nil {
			t.Fatal(err)
		}
		for _, i := range m.done {
			if err := f.MarkDone(i); err != nil {
				t.Fatal(err)
			}
		}
		f.Close()
	}
	if len(m.reasons) > 0 {
		f, err := queue.Open(l.Path(m.queue, id), false)
		if err != nil {
			t.Fatal(err)
		}
		var recs []queue.LogRecord
		for _, r := range f.Envelope.Recipients {
			if why, ok := m.reasons[r.Addr]; ok {
				recs = append(recs, queue.LogRecord{Recipient: r.Addr, Orig: r.Orig, Offset: r.Offset,
					Status: "4.4.1", Action: "delayed", Reason: why, Time: arrival})
			}
		}
		f.Close()
		if err := l.AppendLog(queue.Defer, id, recs); err != nil {
			t.Fatal(err)
		}
	}
	return id
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (go test -update rewrites it)\n--- got:\n%s\n--- want:\n%s", path, got, want)
		gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
		for i := 0; i < len(gl) && i < len(wl); i++ {
			if gl[i] != wl[i] {
				t.Errorf("first difference, line %d:\n got: %q\nwant: %q", i+1, gl[i], wl[i])
				break
			}
		}
	}
}
