// Package perf measures issue 6's "must show" figure for the queue
// listing: mailq on 100,000 deferred messages. It makes and removes
// 200,000 files, so it lives apart from showq's unit tests: "go test -v
// ./showq/perf/" (skipped with -short and -race).
package perf

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/daemon"
	"github.com/postern-mta/postern/internal/maillog"
	"github.com/postern-mta/postern/internal/mtatest"
	"github.com/postern-mta/postern/internal/proto"
	"github.com/postern-mta/postern/queue"
	"github.com/postern-mta/postern/showq"
)

// The "must show" figure of issue 6: mailq on a queue of 100,000 deferred
// messages, each with a defer log, finishes in under 5 s and under 200 MB,
// through showq and reading the queue directly. Run with -v to see the
// figures. It is a measurement, not a test of correctness, and wall time
// on a shared machine is noise: it runs only when POSTERN_LOAD is set
// ("make bench" sets it), never under the race detector. It takes a
// minute or more, most of it making and removing 200,000 files.
func TestListingHundredThousand(t *testing.T) {
	if os.Getenv("POSTERN_LOAD") == "" || raceEnabled {
		t.Skip("a measurement: set POSTERN_LOAD=1 to run it (make bench does)")
	}
	const n = 100000
	bin := buildPostqueue(t)
	base := t.TempDir()
	l := queue.NewLayout(filepath.Join(base, "spool"), []string{queue.Deferred, queue.Defer}, 1)
	if err := l.MakeDirs(-1, -1); err != nil {
		t.Fatal(err)
	}
	confDir := filepath.Join(base, "etc")
	os.MkdirAll(confDir, 0o755)
	writeFile(t, filepath.Join(confDir, "main.cf"), "queue_directory = "+l.Root+"\n")

	// The queue writer fsyncs every file: time it on a sample, then
	// clone its files (without fsync) to fill the queue quickly.
	const sample = 200
	start := time.Now()
	var ids []string
	for i := 0; i < sample; i++ {
		ids = append(ids, addMessage(t, l, queue.Deferred, "alice@mx.example.test",
			"one@remote.test", "two@remote.test", "three@remote.test"))
	}
	perMsg := time.Since(start) / sample
	t.Logf("queue writer: %s per committed message; %d messages would take %s", perMsg, n, perMsg*n)
	tmpl, err := os.ReadFile(l.Path(queue.Deferred, ids[0]))
	if err != nil {
		t.Fatal(err)
	}
	f, err := queue.Open(l.Path(queue.Deferred, ids[0]), false)
	if err != nil {
		t.Fatal(err)
	}
	var recs []queue.LogRecord
	for _, r := range f.Envelope.Recipients {
		recs = append(recs, queue.LogRecord{Recipient: r.Addr, Offset: r.Offset, Status: "4.4.1", Action: "delayed",
			Reason: "connect to mx.remote.test[192.0.2.25]:25: Connection refused", Time: time.Now()})
	}
	f.Close()
	for _, id := range ids {
		if err := l.AppendLog(queue.Defer, id, recs); err != nil {
			t.Fatal(err)
		}
	}
	logData, err := os.ReadFile(l.Path(queue.Defer, ids[0]))
	if err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	t0 := time.Unix(1795345639, 0)
	for i := sample; i < n; i++ {
		id := queue.NewID(t0.Add(time.Duration(i)*time.Microsecond), uint64(i))
		if err := os.WriteFile(l.Path(queue.Deferred, id), tmpl, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(l.Path(queue.Defer, id), logData, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("cloned %d messages and defer logs (no fsync) in %s", n-sample, time.Since(start))

	wantTail := fmt.Sprintf("-- %d Kbytes in %d Requests.\n", int64(n)*int64(len("Subject: x\n\nhello\n"))/1024, n)
	run := func(what string, args ...string) {
		t.Helper()
		var out tailWriter
		var errb bytes.Buffer
		cmd := exec.Command(bin, append([]string{"-c", confDir}, args...)...)
		cmd.Stdout, cmd.Stderr = &out, &errb
		var self0 syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &self0)
		start := time.Now()
		if err := cmd.Run(); err != nil {
			t.Fatalf("%s: %v: %s", what, err, errb.String())
		}
		wall := time.Since(start)
		var self1 syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &self1)
		ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
		rssMB := float64(ru.Maxrss) / 1024
		t.Logf("%s: %d messages in %s wall; postqueue: %s CPU, peak RSS %.1f MB; this process (showq): %s CPU; %d bytes of output",
			what, n, wall.Round(time.Millisecond), (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Round(time.Millisecond),
			rssMB, (cpu(self1) - cpu(self0)).Round(time.Millisecond), out.n)
		if args[0] == "-p" && !strings.HasSuffix(out.tail.String(), wantTail) {
			t.Errorf("%s: listing ends %q, want %q", what, out.tail.String(), wantTail)
		}
		if args[0] == "-j" && out.lines != n {
			t.Errorf("%s: %d lines, want %d", what, out.lines, n)
		}
		if wall > 5*time.Second || rssMB > 200 {
			t.Errorf("%s: %s and %.1f MB, want under 5 s and 200 MB", what, wall, rssMB)
		}
	}
	run("direct (mail system down)", "-p")
	startServer(t, l)
	run("through showq, text", "-p")
	run("through showq, JSON", "-j")
}

func cpu(ru syscall.Rusage) time.Duration {
	return time.Duration(syscall.TimevalToNsec(ru.Utime) + syscall.TimevalToNsec(ru.Stime))
}

// tailWriter counts what it is given and keeps the last bytes.
type tailWriter struct {
	n, lines int
	tail     bytes.Buffer
}

func (w *tailWriter) Write(p []byte) (int, error) {
	w.n += len(p)
	w.lines += bytes.Count(p, []byte("\n"))
	w.tail.Write(p)
	if w.tail.Len() > 4096 {
		rest := append([]byte(nil), w.tail.Bytes()[w.tail.Len()-1024:]...)
		w.tail.Reset()
		w.tail.Write(rest)
	}
	return len(p), nil
}

var _ io.Writer = (*tailWriter)(nil)

// buildPostqueue builds cmd/postqueue into a temporary directory.
func buildPostqueue(t testing.TB) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	bin := filepath.Join(t.TempDir(), "postqueue")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/postqueue")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/postqueue: %v\n%s", err, out)
	}
	return bin
}

// startServer runs a showq server on l's public/showq until the test ends.
func startServer(t testing.TB, l *queue.Layout) {
	t.Helper()
	ln, err := net.Listen("unix", proto.PublicPath(l.Root, "showq"))
	if err != nil {
		t.Fatal(err)
	}
	srv := showq.NewServer(showq.Config{Layout: l, EmptySender: "MAILER-DAEMON", Timeout: time.Minute}, maillog.Discard())
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		daemon.ServeConns(ctx, []net.Listener{ln}, 0, 5*time.Second, srv.Handle)
	}()
	t.Cleanup(func() { cancel(); wg.Wait() })
}

func addMessage(t testing.TB, l *queue.Layout, q, sender string, rcpts ...string) string {
	t.Helper()
	env := &queue.Envelope{Sender: sender}
	for _, r := range rcpts {
		env.Recipients = append(env.Recipients, queue.Recipient{Addr: r})
	}
	return mtatest.WriteQueueFile(t, l, q, env, "Subject: x\n\nhello\n")
}

func writeFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
