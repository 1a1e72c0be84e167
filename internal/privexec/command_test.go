package privexec_test

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/postern-mta/postern/internal/privexec"
)

func run(t *testing.T, c *privexec.Command) *privexec.CommandResult {
	t.Helper()
	if c.Env == nil {
		c.Env = []string{"PATH=/usr/bin:/bin"}
	}
	res, err := privexec.RunCommand(context.Background(), c)
	if err != nil {
		t.Fatalf("RunCommand(%q): %v", c.Argv, err)
	}
	return res
}

func TestRunCommandExitAndOutput(t *testing.T) {
	res := run(t, &privexec.Command{
		Argv:  []string{"/bin/sh", "-c", "cat >/dev/null; echo out; echo err >&2; exit 67"},
		Stdin: strings.NewReader("message\n"),
	})
	if res.Exit != 67 || string(res.Output) != "out\nerr\n" || res.TimedOut || res.StartErr != nil {
		t.Errorf("result %+v", res)
	}
	st := res.Status("cmd")
	if st.Enhanced != "5.1.1" || st.Text != "user unknown. Command output: out err" {
		t.Errorf("status %+v", st)
	}
}

func TestRunCommandStdinAndEnv(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	res := run(t, &privexec.Command{
		Argv:  []string{"/bin/sh", "-c", `cat > "$OUT"; pwd >> "$OUT"; echo "$FOO" >> "$OUT"`},
		Env:   []string{"PATH=/usr/bin:/bin", "OUT=" + out, "FOO=bar"},
		Dir:   dir,
		Stdin: strings.NewReader("line1\nline2\n"),
	})
	if res.Exit != 0 {
		t.Fatalf("result %+v output %q", res, res.Output)
	}
	b, _ := os.ReadFile(out)
	if want := "line1\nline2\n" + dir + "\nbar\n"; string(b) != want {
		t.Errorf("command saw %q, want %q", b, want)
	}
}

func TestRunCommandNotReadingStdin(t *testing.T) {
	res := run(t, &privexec.Command{
		Argv:  []string{"true"},
		Stdin: strings.NewReader(strings.Repeat("x", 1<<20)),
	})
	if res.Exit != 0 || res.WriteErr != nil || res.Status("true") != nil {
		t.Errorf("result %+v", res)
	}
}

func TestRunCommandOutputLimit(t *testing.T) {
	res := run(t, &privexec.Command{
		Argv:        []string{"/bin/sh", "-c", "head -c 100000 /dev/zero | tr '\\0' x"},
		OutputLimit: 10,
	})
	if res.Exit != 0 || string(res.Output) != "xxxxxxxxxx" {
		t.Errorf("exit %d output %q", res.Exit, res.Output)
	}
}

func TestRunCommandTimeLimitKillsGroup(t *testing.T) {
	pidfile := filepath.Join(t.TempDir(), "pid")
	start := time.Now()
	res := run(t, &privexec.Command{
		Argv:      []string{"/bin/sh", "-c", "sleep 30 & echo $! > " + pidfile + "; echo started; wait"},
		TimeLimit: 300 * time.Millisecond,
	})
	if el := time.Since(start); el > 5*time.Second {
		t.Fatalf("RunCommand took %s", el)
	}
	if !res.TimedOut || res.Signal != syscall.SIGKILL {
		t.Errorf("result %+v", res)
	}
	st := res.Status("/usr/bin/slow")
	if st.Enhanced != "5.3.0" || st.Text != `Command time limit exceeded: "/usr/bin/slow". Command output: started` {
		t.Errorf("status %+v", st)
	}
	b, err := os.ReadFile(pidfile)
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	waitDead(t, pid) // the background sleep died with its group
}

func TestRunCommandStartFailures(t *testing.T) {
	res := run(t, &privexec.Command{Argv: []string{"/nonexistent/cmd", "arg"}})
	st := res.Status("/nonexistent/cmd arg")
	if res.StartErr == nil || st.Enhanced != "5.3.0" ||
		st.Text != `Command died with status 1: "/nonexistent/cmd arg". Command output: execvp /nonexistent/cmd: no such file or directory` {
		t.Errorf("missing program: %+v %+v", res, st)
	}
	res = run(t, &privexec.Command{Argv: []string{"true"}, Dir: "/nonexistent-dir"})
	if st := res.Status("true"); st == nil || !st.Temporary() || !strings.Contains(st.Text, "cannot change directory to /nonexistent-dir") {
		t.Errorf("bad directory: %+v", st)
	}
}

func TestRunCommandAsAnotherUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to change credentials")
	}
	res := run(t, &privexec.Command{
		Argv: []string{"/bin/sh", "-c", "id -u; id -g; id -G"},
		Cred: &privexec.Cred{UID: 65534, GID: 65533},
	})
	if got := privexec.OutputText(res.Output); got != "65534 65533 65533" {
		t.Errorf("id said %q, want 65534 65533 65533", got)
	}
}

func TestCommandStatus(t *testing.T) {
	for _, tc := range []struct {
		res      privexec.CommandResult
		enhanced string
		text     string
	}{
		{privexec.CommandResult{Exit: 0}, "", ""},
		{privexec.CommandResult{Exit: 75}, "4.3.0", "temporary failure"},
		{privexec.CommandResult{Exit: 75, Output: []byte("try\nlater\n")}, "4.3.0", "temporary failure. Command output: try later"},
		{privexec.CommandResult{Exit: 71}, "4.3.0", "system resource problem"},
		{privexec.CommandResult{Exit: 67}, "5.1.1", "user unknown"},
		{privexec.CommandResult{Exit: 64}, "5.3.0", "command line usage error"},
		{privexec.CommandResult{Exit: 73}, "5.2.0", "can't create user output file"},
		{privexec.CommandResult{Exit: 77}, "5.7.0", "permission denied"},
		{privexec.CommandResult{Exit: 78}, "5.3.5", "local configuration error"},
		{privexec.CommandResult{Exit: 1}, "5.3.0", `Command died with status 1: "cmd x"`},
		{privexec.CommandResult{Exit: 2, Output: []byte("oops")}, "5.3.0", `Command died with status 2: "cmd x". Command output: oops`},
		{privexec.CommandResult{Exit: 1, Output: []byte("4.2.2 mailbox over quota\n")}, "4.2.2", "mailbox over quota"},
		{privexec.CommandResult{Exit: 75, Output: []byte("5.1.1 no such mailbox")}, "5.1.1", "no such mailbox"},
		{privexec.CommandResult{Exit: 1, Output: []byte("2.0.0 fine")}, "5.3.0", `Command died with status 1: "cmd x". Command output: 2.0.0 fine`},
		{privexec.CommandResult{Exit: -1, Signal: syscall.SIGSEGV}, "4.3.0", `Command died with signal 11: "cmd x"`},
		{privexec.CommandResult{Exit: -1, Signal: syscall.SIGKILL, TimedOut: true}, "5.3.0", `Command time limit exceeded: "cmd x"`},
	} {
		st := tc.res.Status("cmd x")
		switch {
		case tc.enhanced == "" && st != nil:
			t.Errorf("%+v: got %v, want success", tc.res, st)
		case tc.enhanced != "" && (st == nil || st.Enhanced != tc.enhanced || st.Text != tc.text):
			t.Errorf("%+v: got %v, want %s %s", tc.res, st, tc.enhanced, tc.text)
		}
	}
}

func TestOutputText(t *testing.T) {
	for in, want := range map[string]string{
		"":                      "",
		"  a \n\n b\t\r\nc  \n": "a b c",
		"x\x00y\x1bz":           "x y z",
	} {
		if got := privexec.OutputText([]byte(in)); got != want {
			t.Errorf("OutputText(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestServiceUser(t *testing.T) {
	for _, tc := range []struct{ spec, owner, err string }{
		{"root", "postern", "root privileges"},
		{"nobody", "nobody", "mail system owner"},
		{"nobody:root", "postern", "group id 0"},
		{"no-such-user-here", "postern", "unknown user"},
		{"nobody:no-such-group-here", "postern", "unknown group"},
		{"", "postern", "needs a user name"},
	} {
		if _, err := privexec.ServiceUser(tc.spec, tc.owner); err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("ServiceUser(%q) = %v, want %q", tc.spec, err, tc.err)
		}
	}
	c, err := privexec.ServiceUser("nobody", "postern")
	if err != nil || c.UID == 0 {
		t.Errorf("nobody: %+v %v", c, err)
	}
}

// A delivery agent runs with a large timer slack (master/runtime.go); the
// user's command gets the kernel's default back.
func TestRunCommandDefaultTimerSlack(t *testing.T) {
	if _, err := os.Stat("/proc/self/timerslack_ns"); err != nil {
		t.Skip("no /proc/self/timerslack_ns:", err)
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	old, err := unix.PrctlRetInt(unix.PR_GET_TIMERSLACK, 0, 0, 0, 0)
	if err != nil {
		t.Skip("PR_GET_TIMERSLACK:", err)
	}
	if err := unix.Prctl(unix.PR_SET_TIMERSLACK, uintptr(time.Millisecond), 0, 0, 0); err != nil {
		t.Skip("PR_SET_TIMERSLACK:", err)
	}
	defer unix.Prctl(unix.PR_SET_TIMERSLACK, uintptr(old), 0, 0, 0) //nolint:errcheck
	res := run(t, &privexec.Command{Argv: []string{"cat", "/proc/self/timerslack_ns"}})
	if got := strings.TrimSpace(string(res.Output)); got != "50000" {
		t.Errorf("the command's timer slack = %q ns, want 50000 (the kernel's default)", got)
	}
}
