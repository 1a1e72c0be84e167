package virtual

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/mtatest"
	"github.com/postern-mta/postern/internal/proto"
	"github.com/postern-mta/postern/queue"
)

// BenchmarkMaildirDelivery measures Maildir deliveries per second through
// the agent, driven like qmgr drives it (4 connections at once), each
// delivery a 4 KB message fsynced and renamed into new/ by a helper with
// the mailbox owner's rights:
//
//	reuse     helpers kept per user and fed request after request (default)
//	no-reuse  a new helper process (fork and exec) for every delivery
//	raw-disk  the same file work done in the test process: the disk's rate
//
//	go test -run '^$' -bench MaildirDelivery -benchtime 2000x ./virtual/
func BenchmarkMaildirDelivery(b *testing.B) {
	body := "Subject: bench\n\n" + strings.Repeat("x", 4000) + "\n"
	b.Run("reuse", func(b *testing.B) { benchAgent(b, body, 0) })
	b.Run("no-reuse", func(b *testing.B) { benchAgent(b, body, -1) })
	b.Run("raw-disk", func(b *testing.B) { benchRaw(b, body) })
}

const benchWorkers = 4

func benchAgent(b *testing.B, body string, idle time.Duration) {
	h := newHarness(b)
	h.start()
	h.cfg.Runner.Idle = idle
	id := mtatest.WriteQueueFile(b, h.layout, queue.Active,
		&queue.Envelope{Arrival: time.Now(), Sender: "alice@example.test", Recipients: []queue.Recipient{{Addr: "bob@virt.test"}}}, body)
	req := &proto.DeliverRequest{Queue: queue.Active, QueueID: id, Transport: "virtual", Sender: "alice@example.test",
		Arrival: time.Now(), Active: time.Now(), Recipients: []proto.DeliverRcpt{{Addr: "bob@virt.test"}}}
	clients := make([]*proto.DeliverClient, benchWorkers)
	for i := range clients {
		clients[i] = mtatest.DialDeliver(b, h.sock)
	}
	var next atomic.Int64
	var failed atomic.Value
	var wg sync.WaitGroup
	var before, after syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_CHILDREN, &before)
	b.ResetTimer()
	start := time.Now()
	for _, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(b.N) {
				reply, err := c.Deliver(context.Background(), req, time.Minute)
				if err == nil && !reply.Results[0].Status.Success() {
					err = fmt.Errorf("delivery: %v", reply.Results[0].Status)
				}
				if err != nil {
					failed.Store(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	el := time.Since(start)
	b.StopTimer()
	if err, ok := failed.Load().(error); ok {
		b.Fatal(err)
	}
	// Helpers count in RUSAGE_CHILDREN once they have exited and been
	// waited for.
	h.cfg.Runner.Close()
	waitNoChildren(b)
	syscall.Getrusage(syscall.RUSAGE_CHILDREN, &after)
	b.ReportMetric(float64(b.N)/el.Seconds(), "msgs/s")
	helperCPU := time.Duration(after.Utime.Nano()+after.Stime.Nano()-before.Utime.Nano()-before.Stime.Nano()) * time.Nanosecond
	b.ReportMetric(float64(helperCPU.Microseconds())/float64(b.N), "helper-µs/msg")
	b.ReportMetric(float64(h.cfg.Runner.Started()), "helpers")
}

func benchRaw(b *testing.B, body string) {
	dir := filepath.Join(b.TempDir(), "Maildir")
	for _, d := range []string{"tmp", "new", "cur"} {
		os.MkdirAll(filepath.Join(dir, d), 0o700)
	}
	content := "Return-Path: <alice@example.test>\nX-Original-To: bob@virt.test\nDelivered-To: bob@virt.test\n" + body
	var next atomic.Int64
	var wg sync.WaitGroup
	var before, after syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &before)
	b.ResetTimer()
	start := time.Now()
	for w := range benchWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > int64(b.N) {
					return
				}
				tmp := filepath.Join(dir, "tmp", fmt.Sprintf("%d.%d", w, i))
				if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
					b.Error(err)
					return
				}
				f, _ := os.OpenFile(tmp, os.O_WRONLY, 0)
				f.Sync()
				f.Close()
				os.Rename(tmp, filepath.Join(dir, "new", filepath.Base(tmp)))
				d, _ := os.Open(filepath.Join(dir, "new"))
				d.Sync()
				d.Close()
			}
		}()
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
	syscall.Getrusage(syscall.RUSAGE_SELF, &after)
	cpu := time.Duration(after.Utime.Nano() + after.Stime.Nano() - before.Utime.Nano() - before.Stime.Nano())
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/msg")
}

// waitNoChildren waits until this process has no child processes left.
func waitNoChildren(b *testing.B) {
	me := strconv.Itoa(os.Getpid())
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		found := false
		ents, _ := os.ReadDir("/proc")
		for _, e := range ents {
			stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
			if err != nil {
				continue
			}
			f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
			if len(f) > 1 && f[1] == me {
				found = true
				break
			}
		}
		if !found {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	b.Fatal("helpers did not exit")
}
