package cleanup

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/maillog"
	"github.com/postern-mta/postern/internal/proto"
)

// message4K is a 4 KB message as smtpd sends it: CRLF line ends, its
// Received: header first, no Message-Id or Date (cleanup adds them: the
// client is local).
var message4K = func() string {
	head := "Received: from client.example.test (localhost [127.0.0.1])\r\n\tby mx.example.test (Postern) with ESMTP id 4jXRDB400qz1SCHg;\r\n\tSun, 22 Nov 2026 11:07:19 +0000 (UTC)\r\nFrom: alice@mx.example.test\r\nTo: bob@remote.test\r\nSubject: benchmark\r\n\r\n"
	var b strings.Builder
	b.WriteString(head)
	for b.Len() < 4096-50 {
		b.WriteString("The quick brown fox jumps over the lazy dog ...\r\n")
	}
	return b.String()
}()

// rawDurable writes a 4 KB file the fastest durable way: create, write,
// fsync, rename, directory fsync.
func rawDurable(dir string, i int64, data []byte) error {
	name := filepath.Join(dir, fmt.Sprint(i))
	f, err := os.OpenFile(name+".tmp", os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	f.Close()
	if err := os.Rename(name+".tmp", name); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru) //nolint:errcheck
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func userTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru) //nolint:errcheck
	return time.Duration(ru.Utime.Nano())
}

// runParallel runs n operations on conc goroutines and returns the
// elapsed time.
func runParallel(n int64, conc int, op func(worker int, i int64) error) (time.Duration, error) {
	var next atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	start := time.Now()
	for w := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= n {
					return
				}
				if err := op(w, i); err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if e := firstErr.Load(); e != nil {
		return 0, e.(error)
	}
	return time.Since(start), nil
}

// BenchmarkAccept measures, in the same run and on the same file
// system, the raw durable create rate of the disk and cleanup's accept
// rate for 4 KB messages from 20 concurrent sessions (each over its own
// cleanup connection, as smtpd's pool does), and the CPU time per
// message of each (user and system; cleanup's includes the client side,
// which runs in the same process here).
//
//	go test -run XXX -bench Accept -benchtime 2000x ./cleanup/
func BenchmarkAccept(b *testing.B) {
	const conc = 20
	s := newTestServer(b, func(c *Config) {
		c.LocalHeaderRewrite = func(context.Context, []proto.Attr) bool { return true }
	})
	rawDir := filepath.Join(filepath.Dir(s.cfg.QueueDir), "raw")
	os.Mkdir(rawDir, 0o700)
	data := []byte(strings.ReplaceAll(message4K, "\r\n", "\n"))
	ctx := context.Background()
	clients := make([]*proto.CleanupClient, conc)
	for i := range clients {
		cl, err := proto.DialCleanup(ctx, s.sock)
		if err != nil {
			b.Fatal(err)
		}
		defer cl.Close()
		clients[i] = cl
	}
	open := func() *proto.CleanupOpen {
		return smtpOpen("127.0.0.1", "alice@mx.example.test", "bob@remote.test")
	}
	n := int64(b.N)
	b.ResetTimer()
	cpuRaw0 := cpuTime()
	rawTime, err := runParallel(n, conc, func(_ int, i int64) error { return rawDurable(rawDir, i, data) })
	if err != nil {
		b.Fatal(err)
	}
	cpuRaw := cpuTime() - cpuRaw0
	cpu0, user0 := cpuTime(), userTime()
	accTime, err := runParallel(n, conc, func(w int, _ int64) error {
		_, err := clients[w].Submit(ctx, open(), strings.NewReader(message4K))
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	cpu, user := cpuTime()-cpu0, userTime()-user0
	b.StopTimer()
	raw := float64(n) / rawTime.Seconds()
	acc := float64(n) / accTime.Seconds()
	b.ReportMetric(raw, "raw_msgs/s")
	b.ReportMetric(acc, "cleanup_msgs/s")
	b.ReportMetric(acc/raw, "ratio")
	b.ReportMetric(float64(cpu.Microseconds())/float64(n), "cpu_µs/msg")
	b.ReportMetric(float64(user.Microseconds())/float64(n), "user_µs/msg")
	b.ReportMetric(float64(cpuRaw.Microseconds())/float64(n), "raw_cpu_µs/msg")
}

// BenchmarkContent is cleanup's work on one message without the disk:
// header parsing, missing headers, address rewriting and the bulk copy.
func BenchmarkContent(b *testing.B) {
	c := New(testConfig(b.TempDir()), nil)
	c.log = discardLog()
	content := []byte(message4K)
	o := localOpen("alice", "bob@remote.test")
	br := bufio.NewReaderSize(nil, 64<<10)
	b.SetBytes(int64(len(content)))
	b.ReportAllocs()
	for range b.N {
		processWith(b, c, o, content, br)
	}
}

func discardLog() *maillog.Logger { return maillog.Discard() }
