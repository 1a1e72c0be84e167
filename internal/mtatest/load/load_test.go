// Package load holds the load benchmarks of the running binary: a load
// generator on loopback against a real instance, measured in the same run
// as the disk's own durable-create rate, because the machines these run on
// are shared and noisy. Run them with
//
//	make bench
//	go test -run '^$' -bench . ./internal/mtatest/load/
//
// Every benchmark reports msgs/s, the raw rate of the disk (create, write
// 4 KB, fsync, rename, fsync the directory) with one writer and with as
// many writers as sessions, the ratio of the two, p50/p99 of the time from
// the end of DATA to the 250 reply (and, for the accept benchmark, the p99
// of one raw create with as many writers: the disk's own tail), the
// CPU time all Postern processes spent per message, and the CPU time of
// the benchmark's own process per message (client-cpu-ms/msg; with the
// relay's sink, harness-cpu-ms/msg): what the load client and the sink
// take from the same two processors. The load client is a lean one (see
// client_test.go), so that it takes little.
package load

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/mtatest"
)

const (
	sessions    = 20
	messageSize = 4096
)

// appendMessage appends message i: a 4 KB message whose lines never
// start with a dot.
func appendMessage(b []byte, i int) []byte {
	start := len(b)
	n := strconv.Itoa(i)
	b = append(b, "From: load@client.test\r\nTo: sink@remote.test\r\nSubject: load "...)
	b = append(b, n...)
	b = append(b, "\r\nMessage-ID: <load."...)
	b = append(b, n...)
	b = append(b, "@client.test>\r\n\r\n"...)
	for len(b)-start < messageSize {
		b = append(b, bodyLine...)
	}
	return b
}

var bodyLine = strings.Repeat("x", 70) + "\r\n"

// queueEmpty looks at the queue directories themselves, so that waiting
// costs the instance nothing (postqueue would make showq work).
func queueEmpty(in *mtatest.Instance) bool {
	for _, q := range []string{"maildrop", "incoming", "active", "deferred"} {
		n := 0
		filepath.WalkDir(filepath.Join(in.QueueDir, q), func(_ string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				n++
			}
			return nil
		})
		if n > 0 {
			return false
		}
	}
	return true
}

// cpuTicks sums user+system clock ticks of master and its children.
func cpuTicks(b *testing.B, in *mtatest.Instance) int64 {
	var total int64
	for _, t := range cpuByDaemon(b, in) {
		total += t
	}
	return total
}

// cpuByDaemon gives user+system clock ticks of master and its children by
// daemon name (several processes of one daemon are added up).
func cpuByDaemon(b *testing.B, in *mtatest.Instance) map[string]int64 {
	b.Helper()
	pidb, err := os.ReadFile(filepath.Join(in.QueueDir, "pid", "master.pid"))
	if err != nil {
		b.Fatal(err)
	}
	master, _ := strconv.Atoi(strings.TrimSpace(string(pidb)))
	ents, _ := os.ReadDir("/proc")
	out := make(map[string]int64)
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		// Fields after the ")" that ends the command name.
		s := string(stat)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
		if len(f) < 13 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		if pid != master && ppid != master {
			continue
		}
		ut, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		name := "master"
		if pid != master {
			cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
			if args := strings.Split(string(cmdline), "\x00"); len(args) > 2 {
				name = args[2]
			}
		}
		out[name] += ut + st
	}
	return out
}

// reportCPU logs the CPU each daemon spent per message between two
// readings.
func reportCPU(b *testing.B, before, after map[string]int64, msgs int) {
	var parts []string
	for name, t := range after {
		if d := t - before[name]; d > 0 {
			parts = append(parts, fmt.Sprintf("%s %.2f", name, float64(d)*1000/ticksPerSecond/float64(msgs)))
		}
	}
	sort.Strings(parts)
	b.Logf("CPU ms per message by daemon: %s", strings.Join(parts, ", "))
}

const ticksPerSecond = 100 // USER_HZ on Linux

// selfCPU is the CPU time the benchmark's own process has used: the load
// client (and the sink, when there is one), which share the machine with
// the instance measured.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// send runs sessions concurrent SMTP sessions that send total messages,
// and returns the end-of-DATA→250 latencies.
func send(b *testing.B, addr string, conc, total int) []time.Duration {
	b.Helper()
	var next atomic.Int64
	lat := make([][]time.Duration, conc)
	var wg sync.WaitGroup
	for s := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := dialLoad(addr)
			if err != nil {
				b.Error(err)
				return
			}
			defer c.close()
			for {
				i := int(next.Add(1))
				if i > total {
					return
				}
				d, err := c.send(i)
				if err != nil {
					b.Error(err)
					return
				}
				lat[s] = append(lat[s], d)
			}
		}()
	}
	wg.Wait()
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	return all
}

func percentile(d []time.Duration, p float64) float64 {
	if len(d) == 0 {
		return 0
	}
	return float64(d[min(len(d)-1, int(float64(len(d))*p))].Microseconds()) / 1000
}

func newInstance(b *testing.B) *mtatest.Instance {
	in := mtatest.New(b)
	in.Set("smtpd_peername_lookup", "no")
	in.Set("maillog_file", filepath.Join(in.Dir, "maillog"))
	// POSTERN_CPUPROFILE=DIR makes every daemon write a CPU profile there
	// (see internal/daemon); the instance is stopped at the end so that
	// the profiles are complete.
	// POSTERN_BENCH_ENV passes more environment to the daemons, e.g.
	// GOMAXPROCS=1 or GOGC=200, to compare runtime settings.
	if v := os.Getenv("POSTERN_BENCH_ENV"); v != "" {
		in.Set("import_environment", "MAIL_CONFIG TZ LANG=C "+v)
	}
	if dir := os.Getenv("POSTERN_CPUPROFILE"); dir != "" {
		in.Set("import_environment", "MAIL_CONFIG TZ LANG=C POSTERN_CPUPROFILE="+dir)
		b.Cleanup(in.Stop)
	}
	return in
}

// BenchmarkAccept: 20 sessions send 4 KB messages with one recipient to an
// instance that discards what it delivers; how fast mail is accepted
// (queued durably) compared with the disk's raw rate.
func BenchmarkAccept(b *testing.B) {
	for _, conc := range []int{1, sessions} {
		b.Run(fmt.Sprintf("sessions=%d", conc), func(b *testing.B) {
			in := newInstance(b)
			in.Set("default_transport", "discard")
			in.Start()
			raw1, _ := rawRate(b, in.Dir, 1, 2*time.Second)
			rawN, rawP99 := rawRate(b, in.Dir, conc, 2*time.Second)
			total := max(b.N, 200*conc)
			by0 := cpuByDaemon(b, in)
			cpu0 := cpuTicks(b, in)
			self0 := selfCPU()
			start := time.Now()
			lat := send(b, in.SMTPAddr, conc, total)
			elapsed := time.Since(start)
			mtatest.WaitFor(b, time.Minute, "an empty queue", func() bool { return queueEmpty(in) })
			cpu := float64(cpuTicks(b, in)-cpu0) / ticksPerSecond
			reportCPU(b, by0, cpuByDaemon(b, in), len(lat))
			b.ReportMetric(ms(selfCPU()-self0)/float64(len(lat)), "client-cpu-ms/msg")
			rate := float64(len(lat)) / elapsed.Seconds()
			b.ReportMetric(rate, "msgs/s")
			b.ReportMetric(raw1, "raw1/s")
			b.ReportMetric(rawN, "rawN/s")
			b.ReportMetric(rate/rawN, "ratio")
			b.ReportMetric(percentile(lat, 0.5), "p50-ms")
			b.ReportMetric(percentile(lat, 0.99), "p99-ms")
			b.ReportMetric(rawP99, "rawN-p99-ms")
			b.ReportMetric(cpu*1000/float64(len(lat)), "cpu-ms/msg")
		})
	}
}

// BenchmarkRelay: 20 sessions → Postern → a loopback sink; delivered
// messages per second compared with the disk's raw rate, and the CPU all
// Postern processes spend per relayed message.
func BenchmarkRelay(b *testing.B) {
	in := newInstance(b)
	sink := mtatest.NewSink(b)
	in.Set("relayhost", "["+strings.Replace(sink.Addr, ":", "]:", 1))
	in.Start()
	raw, _ := rawRate(b, in.Dir, sessions, 2*time.Second)
	total := max(b.N, 4000)
	by0 := cpuByDaemon(b, in)
	cpu0 := cpuTicks(b, in)
	self0 := selfCPU()
	start := time.Now()
	lat := send(b, in.SMTPAddr, sessions, total)
	mtatest.WaitFor(b, 5*time.Minute, "every message at the sink", func() bool { return sink.Count() >= total })
	elapsed := time.Since(start)
	mtatest.WaitFor(b, time.Minute, "an empty queue", func() bool { return queueEmpty(in) })
	cpu := float64(cpuTicks(b, in)-cpu0) / ticksPerSecond
	reportCPU(b, by0, cpuByDaemon(b, in), total)
	b.ReportMetric(ms(selfCPU()-self0)/float64(total), "harness-cpu-ms/msg")
	rate := float64(sink.Count()) / elapsed.Seconds()
	b.ReportMetric(rate, "msgs/s")
	b.ReportMetric(raw, "rawN/s")
	b.ReportMetric(rate/raw, "ratio")
	b.ReportMetric(percentile(lat, 0.99), "p99-ms")
	b.ReportMetric(cpu*1000/float64(total), "cpu-ms/msg")
}
