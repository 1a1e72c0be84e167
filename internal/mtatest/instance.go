// Package mtatest is the end-to-end test harness: it starts a real Postern
// instance (the binaries of "make build", or built on demand) in a
// temporary directory on free loopback ports, runs its commands, reads its
// mail log, and offers the real peers tests talk to: an SMTP sink and a
// DNS server on loopback.
//
// Nothing here mocks a Postern daemon. Waits are on conditions with
// deadlines, never fixed sleeps. A failed test keeps its instance
// directory (the path is logged) for a post-mortem; a passing one removes
// it.
package mtatest

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Test accounts created when the tests run as root.
const (
	MailOwner   = "postern"
	SetgidGroup = "postdrop"
)

var (
	binOnce sync.Once
	binDir  string
	binErr  error
)

// Bin returns the directory holding postern, postdrop, postqueue and the
// links: $POSTERN_BIN when set (make test sets it), else a build of the
// module made once per test process.
func Bin(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() {
		if d := os.Getenv("POSTERN_BIN"); d != "" {
			binDir = d
			return
		}
		binDir, binErr = buildBinaries()
	})
	if binErr != nil {
		t.Fatalf("build postern: %v", binErr)
	}
	return binDir
}

func buildBinaries() (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "postern-bin-")
	if err != nil {
		return "", err
	}
	os.Chmod(dir, 0o755)
	for _, p := range []string{"postern", "postdrop", "postqueue"} {
		cmd := exec.Command("go", "build", "-o", filepath.Join(dir, p), "./cmd/"+p)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", fmt.Errorf("go build ./cmd/%s: %v\n%s", p, err, out)
		}
	}
	for _, n := range []string{"postfix", "sendmail", "mailq", "newaliases", "postsuper", "postmap", "postalias", "postcat", "postconf"} {
		if err := os.Symlink("postern", filepath.Join(dir, n)); err != nil {
			return "", err
		}
	}
	return dir, nil
}

func moduleRoot() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", errors.New("cannot find the module root")
	}
	return filepath.Abs(filepath.Join(filepath.Dir(file), "..", ".."))
}

// EnsureAccounts creates mail_owner and setgid_group when running as root
// and they are missing.
func EnsureAccounts(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		return
	}
	if _, err := user.LookupGroup(SetgidGroup); err != nil {
		if out, err := exec.Command("groupadd", "--system", SetgidGroup).CombinedOutput(); err != nil {
			t.Fatalf("groupadd %s: %v: %s", SetgidGroup, err, out)
		}
	}
	if _, err := user.Lookup(MailOwner); err != nil {
		out, err := exec.Command("useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent",
			"--shell", "/usr/sbin/nologin", MailOwner).CombinedOutput()
		if err != nil && !bytes.Contains(out, []byte("already exists")) {
			t.Fatalf("useradd %s: %v: %s", MailOwner, err, out)
		}
	}
}

// Instance is one Postern installation under a temporary directory.
type Instance struct {
	T         testing.TB
	Dir       string // everything lives under here
	ConfigDir string // main.cf, master.cf
	QueueDir  string
	MailDir   string // mailboxes, sinks' output
	LogFile   string // maillog_file
	SMTPAddr  string // 127.0.0.1:port of the smtp inet service
	Bin       string

	main     map[string]string
	masterCF string
	started  bool
}

// New prepares an instance: directories, free ports and a test main.cf
// with short timers. Change parameters with Set and services with
// SetMasterCF before Start.
func New(t testing.TB) *Instance {
	t.Helper()
	EnsureAccounts(t)
	dir, err := os.MkdirTemp("", "postern-test-")
	if err != nil {
		t.Fatal(err)
	}
	// Daemons run as mail_owner when the tests run as root: the tree must
	// be reachable.
	os.Chmod(dir, 0o755)
	in := &Instance{
		T:         t,
		Dir:       dir,
		ConfigDir: filepath.Join(dir, "etc"),
		QueueDir:  filepath.Join(dir, "spool"),
		MailDir:   filepath.Join(dir, "mail"),
		LogFile:   filepath.Join(dir, "maillog"),
		SMTPAddr:  fmt.Sprintf("127.0.0.1:%d", FreePort(t)),
		Bin:       Bin(t),
	}
	for _, d := range []string{in.ConfigDir, in.MailDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	in.main = map[string]string{
		"queue_directory":        in.QueueDir,
		"data_directory":         filepath.Join(in.QueueDir, "data"),
		"maillog_file":           in.LogFile,
		"maillog_file_prefixes":  dir,
		"mail_owner":             MailOwner,
		"setgid_group":           SetgidGroup,
		"myhostname":             "mx.example.test",
		"mydomain":               "example.test",
		"inet_interfaces":        "127.0.0.1",
		"mynetworks":             "127.0.0.0/8",
		"mail_spool_directory":   filepath.Join(in.MailDir, "spool"),
		"queue_run_delay":        "1s",
		"minimal_backoff_time":   "1s",
		"maximal_backoff_time":   "2s",
		"service_throttle_time":  "1s",
		"postern_stop_timeout":   "5s",
		"smtpd_error_sleep_time": "0s",
	}
	in.masterCF = DefaultMasterCF(in.SMTPAddr)
	t.Cleanup(func() {
		if in.started {
			in.stop(false)
		}
		if t.Failed() {
			t.Logf("instance kept for inspection: %s", dir)
			t.Logf("mail log tail:\n%s", tail(in.Log(), 40))
			return
		}
		os.RemoveAll(dir)
	})
	return in
}

// DefaultMasterCF is the test service table: the built-in one with the
// SMTP service on addr.
func DefaultMasterCF(addr string) string {
	return fmt.Sprintf(`%s inet n - n - - smtpd
pickup    unix  n       -       n       1       1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       1       1       qmgr
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
showq     unix  n       -       n       -       -       showq
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
lmtp      unix  -       -       n       -       -       lmtp
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
`, addr)
}

// Set sets a main.cf parameter (written at Start or WriteConfig).
func (in *Instance) Set(name, value string) { in.main[name] = value }

// Unset removes a main.cf parameter.
func (in *Instance) Unset(name string) { delete(in.main, name) }

// SetMasterCF replaces master.cf.
func (in *Instance) SetMasterCF(text string) { in.masterCF = text }

// MasterCF returns the current master.cf text.
func (in *Instance) MasterCF() string { return in.masterCF }

// WriteConfig writes main.cf and master.cf.
func (in *Instance) WriteConfig() {
	in.T.Helper()
	var names []string
	for n := range in.main {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		fmt.Fprintf(&b, "%s = %s\n", n, in.main[n])
	}
	if err := os.WriteFile(filepath.Join(in.ConfigDir, "main.cf"), []byte(b.String()), 0o644); err != nil {
		in.T.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(in.ConfigDir, "master.cf"), []byte(in.masterCF), 0o644); err != nil {
		in.T.Fatal(err)
	}
}

// WriteFile writes a file under the instance directory (tables, aliases)
// and returns its path.
func (in *Instance) WriteFile(rel, content string) string {
	in.T.Helper()
	p := filepath.Join(in.Dir, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		in.T.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		in.T.Fatal(err)
	}
	return p
}

// Start writes the configuration and runs "postfix start", which returns
// only when every service is ready.
func (in *Instance) Start() {
	in.T.Helper()
	in.WriteConfig()
	res := in.Run("postfix", "start")
	if res.Exit != 0 {
		in.T.Fatalf("postfix start: exit %d\nstderr: %s\nlog:\n%s", res.Exit, res.Stderr, tail(in.Log(), 30))
	}
	in.started = true
}

// Stop runs "postfix stop" and checks it succeeded.
func (in *Instance) Stop() {
	in.T.Helper()
	in.stop(true)
}

func (in *Instance) stop(check bool) {
	res := in.Run("postfix", "stop")
	in.started = false
	if check && res.Exit != 0 {
		in.T.Fatalf("postfix stop: exit %d: %s", res.Exit, res.Stderr)
	}
}

// Reload writes the configuration and runs "postfix reload".
func (in *Instance) Reload() {
	in.T.Helper()
	in.WriteConfig()
	if res := in.Run("postfix", "reload"); res.Exit != 0 {
		in.T.Fatalf("postfix reload: exit %d: %s", res.Exit, res.Stderr)
	}
}

// Result is what a command did.
type Result struct {
	Stdout, Stderr string
	Exit           int
}

// Run runs one of the instance's commands (by its name in bin/) with
// MAIL_CONFIG set.
func (in *Instance) Run(name string, args ...string) Result {
	return in.RunInput("", name, args...)
}

// RunInput is Run with standard input.
func (in *Instance) RunInput(stdin, name string, args ...string) Result {
	in.T.Helper()
	cmd := exec.Command(filepath.Join(in.Bin, name), args...)
	cmd.Env = append(os.Environ(), "MAIL_CONFIG="+in.ConfigDir)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	res := Result{Stdout: out.String(), Stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		res.Exit = ee.ExitCode()
	case err != nil:
		in.T.Fatalf("run %s: %v", name, err)
	}
	return res
}

// Log returns the whole mail log.
func (in *Instance) Log() string {
	b, _ := os.ReadFile(in.LogFile)
	return string(b)
}

// WaitLog waits until the mail log has a line matching re and returns the
// first such line.
func (in *Instance) WaitLog(re string, timeout time.Duration) string {
	in.T.Helper()
	rx := regexp.MustCompile(re)
	var line string
	WaitFor(in.T, timeout, "log line matching "+re, func() bool {
		line = rx.FindString(in.Log())
		return line != ""
	})
	return line
}

// WaitFor polls cond every few milliseconds until it holds, failing the
// test after timeout.
func WaitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	delay := time.Millisecond
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(delay)
		delay = min(2*delay, 50*time.Millisecond)
	}
}

// FreePort returns a loopback TCP port nobody listens on, for a listener
// started later (a master.cf service). It is taken below the kernel's
// ephemeral range, so that no outgoing connection of this test or of a
// test running beside it can hold it as its source port by then, and
// never twice in one test binary.
func FreePort(t testing.TB) int {
	t.Helper()
	low := ephemeralLow()
	portsMu.Lock()
	defer portsMu.Unlock()
	for range 1000 {
		p := minTestPort + rand.IntN(low-minTestPort)
		if portsGiven[p] {
			continue
		}
		ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
		if err != nil {
			continue
		}
		ln.Close()
		portsGiven[p] = true
		return p
	}
	t.Fatal("no free loopback port below the ephemeral range")
	return 0
}

// minTestPort is the lowest port FreePort gives: above the well-known and
// most registered services.
const minTestPort = 10000

var (
	portsMu    sync.Mutex
	portsGiven = map[int]bool{}
)

// ephemeralLow is the start of the kernel's ephemeral port range (32768
// when it cannot be read, Linux's default).
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil && n > minTestPort+1000 {
				return n
			}
		}
	}
	return 32768
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
