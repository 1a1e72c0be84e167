package smtpd_test

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/mtatest"
)

var loadTest = flag.Bool("postern.load", os.Getenv("POSTERN_LOAD") != "", "run the load measurements")

// TestIdleSessionsMemory holds 10,000 SMTP sessions open after EHLO on
// one smtpd and reports the resident memory of all Postern processes of
// the instance (issue 4: under 300 MB). Run it with
//
//	go test ./smtpd -run TestIdleSessionsMemory -postern.load -v
func TestIdleSessionsMemory(t *testing.T) {
	if !*loadTest {
		t.Skip("load measurement: -postern.load or POSTERN_LOAD=1")
	}
	const sessions = 10000
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	// The clients here and the sessions in smtpd each need a descriptor
	// per session; the daemons inherit the limit through postfix start.
	if lim.Cur < lim.Max {
		lim.Cur = lim.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			t.Fatalf("raise RLIMIT_NOFILE: %v", err)
		}
	}
	if lim.Cur < sessions+1000 {
		t.Skipf("RLIMIT_NOFILE %d is too low for %d sessions", lim.Cur, sessions)
	}
	in := mtatest.New(t)
	var mcf []string
	for _, l := range strings.Split(mtatest.DefaultMasterCF(in.SMTPAddr), "\n") {
		f := strings.Fields(l)
		if len(f) > 0 && (f[0] == "local" || f[0] == "virtual" || f[0] == "lmtp") {
			continue
		}
		if len(f) > 0 && f[0] == in.SMTPAddr {
			l = in.SMTPAddr + " inet n - n - 0 smtpd"
		}
		mcf = append(mcf, l)
	}
	in.SetMasterCF(strings.Join(mcf, "\n") + "\n")
	in.Set("smtpd_peername_lookup", "no")
	in.Set("alias_maps", "")
	in.Start()
	before := rss(t, in.ConfigDir)

	conns := make([]net.Conn, sessions)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 200)
	errs := make(chan error, sessions)
	start := time.Now()
	for i := range conns {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			c, err := net.DialTimeout("tcp", in.SMTPAddr, 30*time.Second)
			if err != nil {
				errs <- err
				return
			}
			c.SetDeadline(time.Now().Add(60 * time.Second))
			r := bufio.NewReaderSize(c, 512)
			if l, err := r.ReadString('\n'); err != nil || !strings.HasPrefix(l, "220 ") {
				errs <- fmt.Errorf("greeting %q: %v", l, err)
				c.Close()
				return
			}
			fmt.Fprintf(c, "EHLO client%d.example.test\r\n", i)
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					errs <- err
					c.Close()
					return
				}
				if strings.HasPrefix(l, "250 ") {
					break
				}
			}
			conns[i] = c
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("session: %v", err)
	}
	opened := time.Since(start)
	// Let the runtime settle, then measure.
	time.Sleep(2 * time.Second)
	after := rss(t, in.ConfigDir)
	t.Logf("%d idle sessions after EHLO opened in %v; Postern RSS %.1f MB before, %.1f MB with the sessions (%.1f KB per session)",
		sessions, opened.Round(time.Millisecond), float64(before)/1024, float64(after)/1024, float64(after-before)/sessions)
	if after > 300*1024 {
		t.Errorf("total RSS %d KB is over 300 MB", after)
	}
	for _, c := range conns {
		c.Close()
	}
}

// rss sums VmRSS (KB) of every process whose MAIL_CONFIG is dir.
func rss(t *testing.T, dir string) int64 {
	t.Helper()
	procs, _ := filepath.Glob("/proc/[0-9]*")
	var total int64
	for _, p := range procs {
		env, err := os.ReadFile(filepath.Join(p, "environ"))
		if err != nil || !bytes.Contains(env, []byte("MAIL_CONFIG="+dir+"\x00")) {
			continue
		}
		status, err := os.ReadFile(filepath.Join(p, "status"))
		if err != nil {
			continue
		}
		for _, l := range strings.Split(string(status), "\n") {
			if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
				n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
				total += n
			}
		}
	}
	return total
}
