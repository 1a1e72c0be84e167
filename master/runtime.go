package master

import (
	"os"
	"regexp"
	"strings"
	"time"
)

// The Go runtime's sysmon thread and the daemons on the mail's path.
//
// Every Go process has a monitor thread, sysmon. When all of a process's
// threads are idle it sleeps until the next timer; but the first system
// call after that wakes it and puts it back to polling every 20µs for at
// least a millisecond. A daemon on the mail's path goes idle and busy again
// hundreds of times a second under load, so its sysmon polls nearly all
// the time. On virtual machines, where each sleep and wake-up is costly,
// perf showed that polling at 10–24 % of each busy daemon's CPU
// (`perf record -g -p PID`, under runtime.sysmon), which is about a sixth
// of all the CPU Postern spends on a relayed message.
//
// With the runtime's schedtrace setting on, sysmon never takes that deep
// sleep, so no system call has to wake it and none resets it to 20µs: it
// backs off to once every 10ms while there is nothing to do. (It still
// polls every 20µs for a while after it takes a processor back from a
// long system call; perf shows that part at 10–30 % of a busy daemon's
// CPU, what is left of its cost.) Postern sets it for
// the daemons on the mail's path, with a period so long (about 24 days)
// that it serves only this purpose, and master drops the scheduler line
// the runtime prints at each period (readLog). Measured with the relay
// benchmark, alternating runs with and without it (6 each): median CPU per
// relayed message 1.90 → 1.57 ms, 655 → 767 msgs/s. The price is about
// a hundred wake-ups a second in each such daemon while it idles (an idle
// qmgr: 120 a second, 0.3 % of a CPU here); on-demand daemons exit after
// max_idle, so that leaves qmgr. An
// administrator's own GODEBUG (import_environment) replaces this setting.
const sysmonGodebug = "schedtrace=2147483647"

// busyDaemons are the daemons a message passes through.
var busyDaemons = map[string]bool{
	"smtpd": true, "qmqpd": true, "cleanup": true, "qmgr": true, "smtp": true,
	"local": true, "virtual": true, "pipe": true, "discard": true, "error": true,
	"bounce": true,
}

// runtimeEnv gives the GODEBUG setting for a daemon, or "" for none.
func runtimeEnv(daemon string, imported []string) string {
	if !busyDaemons[daemon] {
		return ""
	}
	for _, name := range imported {
		if k, _, _ := strings.Cut(name, "="); k == "GODEBUG" {
			return ""
		}
	}
	return "GODEBUG=" + sysmonGodebug
}

// schedLine matches the line schedtrace makes the runtime print.
var schedLine = regexp.MustCompile(`^SCHED \d+ms: gomaxprocs=\d+ `)

// isSchedLine reports whether a line from a child's standard error is the
// runtime's scheduler line (see sysmonGodebug), not the daemon's.
func isSchedLine(line []byte) bool {
	return len(line) > 6 && string(line[:6]) == "SCHED " && schedLine.Match(line)
}

// The timer slack of the busy daemons.
//
// What the schedtrace setting leaves of sysmon's cost is its polling every
// 20µs after it takes a processor back from a system call that blocked
// (an fsync, a write that wakes another process). Each poll is a
// nanosleep, and the kernel wakes the thread after 20µs plus the thread's
// timer slack, 50µs by default: about 14,000 wake-ups a second in each
// busy daemon under load (`grep ctxt_switches /proc/PID/task/*/status`:
// 16,000 a second in cleanup, 13,000 in qmgr, 10,000 in smtpd during the
// accept benchmark, most of them sysmon's).
//
// Master starts the busy daemons with a timer slack of 1ms
// (internal/timerslack), which every thread of the daemon inherits,
// sysmon included. Its polls then come about once a millisecond, which is
// still far sooner than any of its duties needs (taking back a processor
// from a blocked system call, preempting a goroutine after 10ms). The
// daemon's own timers may fire up to 1ms late, which nothing in a mail
// system notices: its timeouts are seconds. Users' commands run by the
// delivery agents get the kernel's default back (internal/privexec).
//
// Measured with the load benchmarks, three alternating runs each with
// POSTERN_TIMER_SLACK=0 and without (medians): accepting with 20 sessions,
// CPU per message 1.58 → 1.10 ms, 881 → 1,093 msgs/s, p99 51 → 39 ms;
// relaying, 1.60 → 1.30 ms and 798 → 881 msgs/s. A lone session's p99
// stayed within the noise (2.5–4.2 ms without, 3.1–3.9 ms with). The price
// is that sysmon takes a processor back from a blocked system call a
// millisecond or so later; on a journaled file system, where an fsync waits
// for the journal's commit, two alternating pairs still favoured the slack
// (accepting 791–822 → 950–1,077 msgs/s, relaying 662–819 → 799–963).
//
// The environment variable POSTERN_TIMER_SLACK in master's environment
// (a Go duration; 0 to leave the slack as it is) overrides the value, to
// compare.
const busyTimerSlack = time.Millisecond

// daemonTimerSlack gives the timer slack a daemon starts with, or 0 to
// leave it as master's.
func daemonTimerSlack(daemon string) time.Duration {
	if !busyDaemons[daemon] {
		return 0
	}
	if v, ok := os.LookupEnv("POSTERN_TIMER_SLACK"); ok {
		if d, err := time.ParseDuration(v); err == nil {
			return d
		}
	}
	return busyTimerSlack
}
