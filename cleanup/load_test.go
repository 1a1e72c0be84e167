package cleanup_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/postern-mta/postern/internal/mtatest"
)

// procCPU returns the CPU time (user+system) of every process of the
// instance, by daemon name ("NAME.sys" for the system part alone).
func procCPU(in *mtatest.Instance) map[string]time.Duration {
	out := map[string]time.Duration{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		env, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if !bytes.Contains(env, []byte("MAIL_CONFIG="+in.ConfigDir+"\x00")) {
			continue
		}
		cmd, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		args := strings.Split(strings.TrimRight(string(cmd), "\x00"), "\x00")
		name := filepath.Base(args[0])
		if len(args) > 2 && args[1] == "daemon" {
			name = args[2]
		} else if len(args) > 1 {
			name = args[1]
		}
		stat, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+2:]))
		if len(f) < 13 {
			continue
		}
		ut, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		out[name] += time.Duration(ut+st) * time.Second / 100 // clock ticks
		out[name+".sys"] += time.Duration(st) * time.Second / 100
	}
	return out
}

// TestAcceptLoad measures the accept path through the real daemons: 20
// SMTP sessions send 4 KB messages (delivery: discard) and the test
// reports messages per second, the p99 time from the end of DATA to the
// 250, and the CPU time per message of each daemon. It runs only with
// POSTERN_LOAD=N (N messages):
//
//	POSTERN_LOAD=5000 go test -run AcceptLoad -v ./cleanup/
func TestAcceptLoad(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("POSTERN_LOAD"))
	if n <= 0 {
		t.Skip("set POSTERN_LOAD=N to run")
	}
	in, _ := newInstance(t)
	in.Set("relayhost", "")
	in.Set("default_transport", "discard")
	in.Set("smtpd_peername_lookup", "no")
	in.SetMasterCF(masterCFWithout(in, "local", "virtual", "lmtp"))
	in.Start()
	msg := "From: alice@remote.test\r\nTo: bob@remote.test\r\nSubject: load\r\n\r\n" + strings.Repeat("The quick brown fox jumps over the lazy dog ...\r\n", 80)
	const sessions = 20
	before := procCPU(in)
	var mu sync.Mutex
	var lat []time.Duration
	var wg sync.WaitGroup
	start := time.Now()
	per := n / sessions
	errs := make(chan error, sessions)
	for range sessions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := smtp.Dial(in.SMTPAddr)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			if err := c.Hello("load.example.test"); err != nil {
				errs <- err
				return
			}
			for range per {
				if err := c.Mail("alice@remote.test", nil); err != nil {
					errs <- err
					return
				}
				if err := c.Rcpt("bob@remote.test", nil); err != nil {
					errs <- err
					return
				}
				w, err := c.Data()
				if err != nil {
					errs <- err
					return
				}
				w.Write([]byte(msg))
				t0 := time.Now()
				if err := w.Close(); err != nil {
					errs <- err
					return
				}
				d := time.Since(t0)
				mu.Lock()
				lat = append(lat, d)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	total := per * sessions
	// Let qmgr and discard finish before reading the CPU times.
	mtatest.WaitFor(t, 60*time.Second, "the queue to empty", func() bool {
		return strings.Contains(in.Run("postqueue", "-p").Stdout, "Mail queue is empty")
	})
	after := procCPU(in)
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	p99 := lat[len(lat)*99/100]
	t.Logf("%d messages from %d sessions in %v: %.0f msgs/s; end of DATA to 250: p50 %v, p99 %v", total, sessions, elapsed.Round(time.Millisecond), float64(total)/elapsed.Seconds(), lat[len(lat)/2], p99)
	var names []string
	for k := range after {
		names = append(names, k)
	}
	sort.Strings(names)
	var sum time.Duration
	var b strings.Builder
	for _, k := range names {
		d := after[k] - before[k]
		if !strings.HasSuffix(k, ".sys") {
			sum += d
		}
		fmt.Fprintf(&b, " %s=%dµs", k, d.Microseconds()/int64(total))
	}
	t.Logf("CPU per message: total %dµs:%s", sum.Microseconds()/int64(total), b.String())
}
