package timerslack

import (
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// childSlack starts a child through Run and returns the timer slack the
// child reports for itself.
func childSlack(t *testing.T, d time.Duration) string {
	t.Helper()
	if _, err := os.Stat("/proc/self/timerslack_ns"); err != nil {
		t.Skip("no /proc/self/timerslack_ns:", err)
	}
	cmd := exec.Command("cat", "/proc/self/timerslack_ns")
	var out strings.Builder
	cmd.Stdout = &out
	if err := Run(d, cmd.Start); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(out.String())
}

func TestChildStartsWithSlack(t *testing.T) {
	if got := childSlack(t, time.Millisecond); got != "1000000" {
		t.Errorf("child's timer slack = %s ns, want 1000000", got)
	}
	if got := childSlack(t, 200*time.Microsecond); got != "200000" {
		t.Errorf("child's timer slack = %s ns, want 200000", got)
	}
}

func TestThreadKeepsItsSlack(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	before, err := unix.PrctlRetInt(unix.PR_GET_TIMERSLACK, 0, 0, 0, 0)
	if err != nil {
		t.Skip("PR_GET_TIMERSLACK:", err)
	}
	if err := Run(3*time.Millisecond, func() error { return nil }); err != nil {
		t.Fatal(err)
	}
	after, _ := unix.PrctlRetInt(unix.PR_GET_TIMERSLACK, 0, 0, 0, 0)
	if after != before {
		t.Errorf("thread's timer slack after Run = %d ns, want %d as before", after, before)
	}
}
