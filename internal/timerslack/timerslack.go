// Package timerslack starts child processes with a chosen Linux timer
// slack.
//
// The timer slack of a thread is how late the kernel may wake it from a
// timed sleep, so that wake-ups can be grouped; the kernel's default is
// 50µs. A process started by fork inherits the slack of the thread that
// forked it, keeps it across exec, and hands it to every thread it
// creates. That inheritance is the only way to set the slack of the Go
// runtime's monitor thread (sysmon), which Go code never runs on: master
// uses it for the busy daemons (see master/runtime.go), and the delivery
// agents use it to start users' commands with the kernel's default again.
package timerslack

import (
	"runtime"
	"time"

	"golang.org/x/sys/unix"
)

// Default is the kernel's initial timer slack.
const Default = 50 * time.Microsecond

// Run calls start, which must start a child process and return once it is
// started, on one OS thread whose timer slack is d for the time of the
// call, so that the child begins with slack d. The thread gets its own
// slack back afterwards. With d <= 0, or where the slack cannot be set,
// start runs unchanged.
func Run(d time.Duration, start func() error) error {
	if d <= 0 {
		return start()
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	old, err := unix.PrctlRetInt(unix.PR_GET_TIMERSLACK, 0, 0, 0, 0)
	if err != nil || old <= 0 {
		return start()
	}
	if time.Duration(old) == d {
		return start()
	}
	if err := unix.Prctl(unix.PR_SET_TIMERSLACK, uintptr(d.Nanoseconds()), 0, 0, 0); err != nil {
		return start()
	}
	defer unix.Prctl(unix.PR_SET_TIMERSLACK, uintptr(old), 0, 0, 0) //nolint:errcheck // setting one's own slack does not fail
	return start()
}
