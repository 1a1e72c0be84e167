package mailbox

import (
	"strings"
	"syscall"
	"testing"
	"time"
)

// BenchmarkWriteMaildir is the Maildir write alone, in this process, one
// at a time: the floor under what a delivery through a helper costs.
//
//	go test -run '^$' -bench WriteMaildir -benchtime 1000x ./internal/privexec/mailbox/
func BenchmarkWriteMaildir(b *testing.B) {
	dir := b.TempDir() + "/Maildir/"
	body := strings.Repeat("x", 4100)
	var before, after syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &before)
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if _, st := writeMaildir(&MaildirParams{Dir: dir, Hostname: "vm"}, strings.NewReader(body), func(string) {}); st != nil {
			b.Fatal(st)
		}
	}
	syscall.Getrusage(syscall.RUSAGE_SELF, &after)
	cpu := time.Duration(after.Utime.Nano() + after.Stime.Nano() - before.Utime.Nano() - before.Stime.Nano())
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/msg")
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
}
