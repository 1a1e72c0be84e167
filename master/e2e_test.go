package master_test

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/mtatest"
)

// proc is a process of the instance.
type proc struct {
	pid     int
	ppid    int
	daemon  string // "master" or the daemon command
	uid     int
	rssKB   int
	service string
}

// masterPID reads the pid file.
func masterPID(t *testing.T, in *mtatest.Instance) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(in.QueueDir, "pid", "master.pid"))
	if err != nil {
		t.Fatalf("read pid file: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatalf("pid file: %v", err)
	}
	return pid
}

// processes lists master and its children from /proc.
func processes(t *testing.T, masterPid int) []proc {
	t.Helper()
	ents, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var out []proc
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		if err != nil {
			continue
		}
		p := proc{pid: pid}
		for _, line := range strings.Split(string(status), "\n") {
			f := strings.Fields(line)
			if len(f) < 2 {
				continue
			}
			switch f[0] {
			case "PPid:":
				p.ppid, _ = strconv.Atoi(f[1])
			case "Uid:":
				p.uid, _ = strconv.Atoi(f[1])
			case "VmRSS:":
				p.rssKB, _ = strconv.Atoi(f[1])
			}
		}
		if pid != masterPid && p.ppid != masterPid {
			continue
		}
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		args := strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")
		switch {
		case pid == masterPid:
			p.daemon = "master"
		case len(args) >= 3 && args[1] == "daemon":
			p.daemon = args[2]
		default:
			continue
		}
		environ, _ := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
		for _, kv := range strings.Split(string(environ), "\x00") {
			if v, ok := strings.CutPrefix(kv, "POSTERN_SERVICE="); ok {
				p.service = v
			}
		}
		out = append(out, p)
	}
	return out
}

func alive(pid int) bool { return syscall.Kill(pid, 0) == nil }

// banner connects to the SMTP service and returns its greeting.
func banner(addr string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return "", err
	}
	fmt.Fprintf(c, "QUIT\r\n")
	return strings.TrimRight(line, "\r\n"), nil
}

func rssKB(procs []proc) int {
	total := 0
	for _, p := range procs {
		total += p.rssKB
	}
	return total
}

func TestStartStatusStop(t *testing.T) {
	in := mtatest.New(t)
	in.Set("max_idle", "2s")
	in.Start()
	b, err := banner(in.SMTPAddr)
	if err != nil || !strings.HasPrefix(b, "220 ") {
		t.Fatalf("banner %q, %v", b, err)
	}
	res := in.Run("postfix", "status")
	pid := masterPID(t, in)
	if res.Exit != 0 || !strings.Contains(res.Stderr, fmt.Sprintf("PID: %d", pid)) {
		t.Fatalf("status: exit %d, %q", res.Exit, res.Stderr)
	}
	procs := processes(t, pid)
	if len(procs) < 10 {
		t.Fatalf("only %d processes: %+v", len(procs), procs)
	}
	t.Logf("just after start: master + %d daemons: %d KB RSS in total", len(procs)-1, rssKB(procs))
	// Daemons started on demand go away after max_idle; what stays is
	// master and the services with a wakeup timer (pickup, qmgr).
	var idle []proc
	mtatest.WaitFor(t, 30*time.Second, "on-demand daemons to exit when idle", func() bool {
		idle = processes(t, pid)
		return len(idle) == 3
	})
	for _, p := range idle {
		if p.daemon != "master" && p.daemon != "pickup" && p.daemon != "qmgr" {
			t.Errorf("%s still running when idle", p.daemon)
		}
	}
	total := rssKB(idle)
	t.Logf("idle: master + %d daemons: %d KB RSS in total", len(idle)-1, total)
	if total > 100*1024 {
		t.Errorf("idle RSS %d KB is over the 100 MB budget", total)
	}
	// A client brings an on-demand service back.
	if b, err := banner(in.SMTPAddr); err != nil || !strings.HasPrefix(b, "220 ") {
		t.Fatalf("banner after idle exit %q, %v", b, err)
	}
	procs = processes(t, pid)
	if res := in.Run("postfix", "start"); res.Exit == 0 || !strings.Contains(res.Stderr, "already running") {
		t.Errorf("second start: exit %d, %q", res.Exit, res.Stderr)
	}
	in.Stop()
	for _, p := range procs {
		if alive(p.pid) {
			t.Errorf("%s (pid %d) still running after stop", p.daemon, p.pid)
		}
	}
	if res := in.Run("postfix", "status"); res.Exit != 1 {
		t.Errorf("status after stop: exit %d", res.Exit)
	}
	if _, err := os.Stat(filepath.Join(in.QueueDir, "pid", "master.pid")); err == nil {
		t.Error("pid file left behind")
	}
	in.WaitLog(`postern/master\[\d+\]: daemon started -- version`, time.Second)
}

// Kill -9 of each daemon: it serves again within seconds — at once for
// the services that always run, at the next client for on-demand ones.
func TestKilledDaemonsComeBack(t *testing.T) {
	in := mtatest.New(t)
	in.Start()
	pid := masterPID(t, in)
	for _, victim := range processes(t, pid) {
		if victim.daemon == "master" {
			continue
		}
		if err := syscall.Kill(victim.pid, syscall.SIGKILL); err != nil {
			t.Fatalf("kill %s: %v", victim.daemon, err)
		}
		name, typ, _ := strings.Cut(victim.service, "/")
		mtatest.WaitFor(t, 10*time.Second, victim.service+" serving again", func() bool {
			// A client connecting brings an on-demand service back.
			if typ == "inet" {
				b, err := banner(in.SMTPAddr)
				if err != nil || !strings.HasPrefix(b, "220 ") {
					return false
				}
			} else {
				for _, dir := range []string{"private", "public"} {
					if c, err := net.Dial("unix", filepath.Join(in.QueueDir, dir, name)); err == nil {
						c.Close()
					}
				}
			}
			for _, p := range processes(t, pid) {
				if p.service == victim.service && p.pid != victim.pid {
					return true
				}
			}
			return false
		})
	}
	in.WaitLog(`warning: process \w+ pid \d+ killed by signal 9`, time.Second)
}

// A reload under a stream of connections refuses none of them and applies
// the new banner.
func TestReloadRefusesNoConnection(t *testing.T) {
	in := mtatest.New(t)
	in.Set("smtpd_banner", "$myhostname ESMTP before")
	in.Start()
	var refused, served atomic.Int64
	var sawAfter atomic.Bool
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var firstErr atomic.Value
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				b, err := banner(in.SMTPAddr)
				if err != nil {
					refused.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				served.Add(1)
				if strings.Contains(b, "after") {
					sawAfter.Store(true)
				}
			}
		}()
	}
	mtatest.WaitFor(t, 10*time.Second, "connections before reload", func() bool { return served.Load() > 20 })
	in.Set("smtpd_banner", "$myhostname ESMTP after")
	in.Reload()
	mtatest.WaitFor(t, 15*time.Second, "the new banner", sawAfter.Load)
	before := served.Load()
	mtatest.WaitFor(t, 10*time.Second, "connections after reload", func() bool { return served.Load() > before+20 })
	close(stop)
	wg.Wait()
	t.Logf("%d connections served across the reload, %d refused", served.Load(), refused.Load())
	if n := refused.Load(); n != 0 {
		t.Errorf("%d connections failed during reload; first: %v", n, firstErr.Load())
	}
	in.WaitLog(`postern/master\[\d+\]: reload -- version`, time.Second)
}

// As root, every daemon but local, virtual, pipe and spawn runs as
// mail_owner.
func TestDaemonsRunAsMailOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	in := mtatest.New(t)
	in.Start()
	u, err := user.Lookup(mtatest.MailOwner)
	if err != nil {
		t.Fatal(err)
	}
	owner, _ := strconv.Atoi(u.Uid)
	for _, p := range processes(t, masterPID(t, in)) {
		want := owner
		switch p.daemon {
		case "master", "local", "virtual", "pipe", "spawn":
			want = 0
		}
		if p.uid != want {
			t.Errorf("%s (pid %d) runs as uid %d, want %d", p.daemon, p.pid, p.uid, want)
		}
	}
}

// A Postfix-format master.cf with services Postern does not have starts,
// with a warning naming each.
func TestStockPostfixMasterCF(t *testing.T) {
	in := mtatest.New(t)
	data, err := os.ReadFile("testdata/postfix-stock.cf")
	if err != nil {
		t.Fatal(err)
	}
	in.SetMasterCF(strings.Replace(string(data), "SMTPADDR", in.SMTPAddr, 1))
	in.Start()
	if b, err := banner(in.SMTPAddr); err != nil || !strings.HasPrefix(b, "220 ") {
		t.Fatalf("banner %q, %v", b, err)
	}
	for _, name := range []string{"tlsmgr", "trivial-rewrite", "anvil", "scache", "proxymap", "postlogd", "maildrop"} {
		in.WaitLog(`warning: .*master.cf: line \d+: service .*`+regexp.QuoteMeta(name), time.Second)
	}
	// chroot y (Debian's file) is honoured as root.
	if os.Geteuid() == 0 {
		for _, p := range processes(t, masterPID(t, in)) {
			if p.daemon == "smtpd" || p.daemon == "pickup" || p.daemon == "cleanup" {
				if root, _ := os.Readlink(fmt.Sprintf("/proc/%d/root", p.pid)); root != in.QueueDir {
					t.Errorf("%s runs in %s, want the jail %s", p.daemon, root, in.QueueDir)
				}
			}
		}
	}
	in.Stop()
}

// A daemon that cannot start fails "postfix start" with its reason; after
// a start, the same failure throttles the service instead.
func TestBadStartup(t *testing.T) {
	in := mtatest.New(t)
	cf := in.MasterCF()
	in.SetMasterCF(strings.Replace(cf, "smtpd\n", "smtpd -o smtpd_recipient_limit=abc\n", 1))
	in.WriteConfig()
	res := in.Run("postfix", "start")
	if res.Exit == 0 || !strings.Contains(res.Stderr, "smtpd_recipient_limit") {
		t.Fatalf("start with a broken smtpd: exit %d, %q", res.Exit, res.Stderr)
	}
	if res := in.Run("postfix", "status"); res.Exit != 1 {
		t.Fatalf("master still running after a failed start")
	}
	in.SetMasterCF(cf)
	in.Start()
	in.SetMasterCF(strings.Replace(cf, "smtpd\n", "smtpd -o smtpd_recipient_limit=abc\n", 1))
	in.Reload()
	in.WaitLog(`warning: process smtpd pid \d+ exit status 1`, 10*time.Second)
	in.WaitLog(`warning: smtpd: bad command startup -- throttling`, 10*time.Second)
	// The old smtpd still serves while the new one is throttled.
	if b, err := banner(in.SMTPAddr); err != nil || !strings.HasPrefix(b, "220 ") {
		t.Fatalf("banner %q, %v", b, err)
	}
}

// A delivery agent that cannot start does not stop "postfix start", as in
// Postfix: it is throttled, and the rest of the mail system runs.
func TestBadDeliveryAgentStartup(t *testing.T) {
	in := mtatest.New(t)
	in.SetMasterCF(in.MasterCF() + "rootpipe unix - n n - - pipe\n  flags=R user=root argv=/bin/cat\n")
	in.Start()
	in.WaitLog(`warning: pipe: bad command startup -- throttling`, 10*time.Second)
	if res := in.Run("postfix", "status"); res.Exit != 0 {
		t.Fatalf("postfix status: exit %d, %q", res.Exit, res.Stderr)
	}
	if b, err := banner(in.SMTPAddr); err != nil || !strings.HasPrefix(b, "220 ") {
		t.Fatalf("banner %q, %v", b, err)
	}
}

// The daemons on the mail's path run with the GODEBUG setting that keeps
// the runtime's sysmon from polling every 20µs, and with a timer slack of
// 1ms (master/runtime.go); the others with neither.
func TestBusyDaemonsGetSysmonSetting(t *testing.T) {
	in := mtatest.New(t)
	in.Start()
	want := map[string]bool{"smtpd": true, "cleanup": true, "qmgr": true, "pickup": false}
	for _, p := range processes(t, masterPID(t, in)) {
		expect, ok := want[p.daemon]
		if !ok {
			continue
		}
		env, err := os.ReadFile("/proc/" + strconv.Itoa(p.pid) + "/environ")
		if err != nil {
			continue // gone meanwhile
		}
		has := strings.Contains("\x00"+string(env)+"\x00", "\x00GODEBUG=schedtrace=2147483647\x00")
		if has != expect {
			t.Errorf("%s (pid %d): GODEBUG setting %v, want %v", p.daemon, p.pid, has, expect)
		}
		// Reading another process's slack takes CAP_SYS_NICE.
		if slack, err := os.ReadFile("/proc/" + strconv.Itoa(p.pid) + "/timerslack_ns"); err == nil {
			if got := strings.TrimSpace(string(slack)) == "1000000"; got != expect {
				t.Errorf("%s (pid %d): timer slack %s ns; 1ms wanted: %v", p.daemon, p.pid, strings.TrimSpace(string(slack)), expect)
			}
		} else if os.Geteuid() == 0 && !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s (pid %d): %v", p.daemon, p.pid, err)
		}
		delete(want, p.daemon)
	}
	if len(want) > 0 {
		t.Errorf("daemons not found: %v", want)
	}
}

// Files a cleanup was writing when the system went down (or had reserved
// for a kept connection) are removed at start, before any cleanup runs;
// queue files proper stay.
func TestStartRemovesUnfinishedQueueFiles(t *testing.T) {
	in := mtatest.New(t)
	if err := os.MkdirAll(in.QueueDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"incoming", "hold"} {
		dir := filepath.Join(in.QueueDir, q)
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "tmp.99999.1"), []byte("half a message"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	in.Start()
	in.WaitLog(`postern/master\[\d+\]: removed 1 unfinished queue files from incoming`, 5*time.Second)
	in.WaitLog(`postern/master\[\d+\]: removed 1 unfinished queue files from hold`, 5*time.Second)
	for _, q := range []string{"incoming", "hold"} {
		if _, err := os.Stat(filepath.Join(in.QueueDir, q, "tmp.99999.1")); !os.IsNotExist(err) {
			t.Errorf("%s/tmp.99999.1 still there (%v)", q, err)
		}
	}
}
