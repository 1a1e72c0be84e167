package load

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/timerslack"
)

// The benchmark's own runtime settings. The load client and the sink run
// in the benchmark's process, on the same two processors as the instance,
// so they get what master gives the busy daemons (master/runtime.go): a
// timer slack of 1ms and the GODEBUG setting that keep the Go runtime's
// monitor thread from polling every 20µs. A thread's slack is inherited,
// never set from outside, so the process starts itself again with them
// when it is to run benchmarks. The yardstick, the disk's raw rate, is
// measured in another process with the default settings (raw_test.go).
// POSTERN_LOAD_PLAIN=1 runs the benchmarks as they were started, to
// compare: measured in three alternating pairs, the load client's CPU per
// message fell from 0.25–0.30 ms to 0.12–0.15 ms (accept, 20 sessions)
// and the client's and sink's from 0.49–0.70 ms to 0.28–0.40 ms (relay).

// reexecEnv marks the process started again.
const reexecEnv = "POSTERN_LOAD_REEXEC"

func TestMain(m *testing.M) {
	if !benchmarking() || os.Getenv(reexecEnv) != "" || os.Getenv("POSTERN_LOAD_PLAIN") != "" || os.Getenv("GODEBUG") != "" {
		os.Exit(m.Run())
	}
	os.Exit(reexec())
}

// benchmarking reports whether benchmarks are to run (-test.bench).
func benchmarking() bool {
	flag.Parse()
	f := flag.Lookup("test.bench")
	return f != nil && f.Value.String() != ""
}

// reexec runs the test binary again with the settings, and returns its
// exit status.
func reexec() int {
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintf(os.Stderr, "load: find own executable: %v\n", err)
		return 1
	}
	cmd := exec.Command(self, os.Args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), reexecEnv+"=1", "GODEBUG=schedtrace=2147483647")
	if err := timerslack.Run(time.Millisecond, cmd.Start); err != nil {
		fmt.Fprintf(os.Stderr, "load: start %s again: %v\n", self, err)
		return 1
	}
	err = cmd.Wait()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "load: %s %s: %v\n", self, strings.Join(os.Args[1:], " "), err)
		return 1
	}
	return 0
}
