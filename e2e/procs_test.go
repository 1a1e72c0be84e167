package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/mtatest"
)

// proc is a process of an instance: master or one of its daemons.
type proc struct {
	PID     int
	Command string // "master", or the daemon command: "smtpd", "cleanup", …
	Service string // master.cf service of a daemon: "cleanup/unix"
}

func (p proc) String() string {
	if p.Service == "" {
		return fmt.Sprintf("%s[%d]", p.Command, p.PID)
	}
	return fmt.Sprintf("%s(%s)[%d]", p.Command, p.Service, p.PID)
}

// masterPID reads the instance's pid file.
func masterPID(t *testing.T, in *mtatest.Instance) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(in.QueueDir, "pid", "master.pid"))
	if err != nil {
		t.Fatalf("read the master pid file: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatalf("master pid file: %v", err)
	}
	return pid
}

// procs lists master and its daemons, by pid, from /proc.
func procs(t *testing.T, in *mtatest.Instance) map[int]proc {
	t.Helper()
	mpid := masterPID(t, in)
	out := map[int]proc{mpid: {PID: mpid, Command: "master"}}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == mpid {
			continue
		}
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		// "pid (comm) state ppid …"; comm may hold spaces.
		i := strings.LastIndexByte(string(stat), ')')
		f := strings.Fields(string(stat[i+1:]))
		if len(f) < 2 || f[1] != strconv.Itoa(mpid) || f[0] == "Z" {
			continue
		}
		cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		args := strings.Split(strings.TrimRight(string(cmd), "\x00"), "\x00")
		if len(args) < 3 || args[1] != "daemon" {
			continue
		}
		p := proc{PID: pid, Command: args[2]}
		env, _ := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
		for _, kv := range strings.Split(string(env), "\x00") {
			if v, ok := strings.CutPrefix(kv, "POSTERN_SERVICE="); ok {
				p.Service = v
			}
		}
		out[pid] = p
	}
	return out
}

// pidsOf returns the pids of the instance's running daemons of one
// command, sorted.
func pidsOf(t *testing.T, in *mtatest.Instance, command string) []int {
	t.Helper()
	var pids []int
	for pid, p := range procs(t, in) {
		if p.Command == command {
			pids = append(pids, pid)
		}
	}
	sort.Ints(pids)
	return pids
}

// killDaemon sends SIGKILL to every running daemon of one command and
// returns the pids it killed; it fails the test if none runs.
func killDaemon(t *testing.T, in *mtatest.Instance, command string) []int {
	t.Helper()
	pids := pidsOf(t, in, command)
	if len(pids) == 0 {
		t.Fatalf("no %s process to kill; running: %v", command, procs(t, in))
	}
	for _, pid := range pids {
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatalf("kill -9 %s[%d]: %v", command, pid, err)
		}
	}
	return pids
}

// waitRestarted waits until a daemon of command runs again with a pid
// other than the killed ones.
func waitRestarted(t *testing.T, in *mtatest.Instance, command string, killed []int) {
	t.Helper()
	mtatest.WaitFor(t, 10*time.Second, command+" running again", func() bool {
		for _, pid := range pidsOf(t, in, command) {
			if !contains(killed, pid) {
				return true
			}
		}
		return false
	})
}

func contains(pids []int, pid int) bool {
	for _, p := range pids {
		if p == pid {
			return true
		}
	}
	return false
}

// sameProcs checks that every process of before still runs, as the same
// service: none was restarted or replaced.
func sameProcs(t *testing.T, before, after map[int]proc) {
	t.Helper()
	for pid, p := range before {
		q, ok := after[pid]
		if !ok || q != p {
			t.Errorf("%v is gone (restarted?); now running: %v", p, sortedProcs(after))
		}
	}
}

func sortedProcs(m map[int]proc) []proc {
	var ps []proc
	for _, p := range m {
		ps = append(ps, p)
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i].PID < ps[j].PID })
	return ps
}
