package master

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/postern-mta/postern/internal/daemon"
	"github.com/postern-mta/postern/internal/maillog"
	"github.com/postern-mta/postern/internal/timerslack"
)

// child is one daemon process.
type child struct {
	run     *running
	gen     int // the running's generation it was started for
	proc    *os.Process
	exited  atomic.Bool
	pid     int
	status  *os.File // master's end of the status socket
	started time.Time
	ready   bool
	stopped bool // master asked it to stop (reload, removal, shutdown)
	// lastLog is the last line it logged, for a startup failure's reason.
	lastLog string
}

// exitEvent reports a child's end.
type exitEvent struct {
	c     *child
	state *os.ProcessState
	err   error
}

// spawn starts a child for r. Its log lines go to the sink, its "ready" and
// its exit come back to the master loop as events.
//
// The child is started with syscall.ForkExec rather than exec.Cmd: the
// listeners are passed as raw descriptors (see listener).
func (m *Master) spawn(r *running) (*child, error) {
	svc := r.svc
	pair, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("start %s: status socket: %w", svc, err)
	}
	mine := os.NewFile(uintptr(pair[0]), "status")
	defer syscall.Close(pair[1])
	var logp [2]int
	if err := syscall.Pipe2(logp[:], syscall.O_CLOEXEC); err != nil {
		mine.Close()
		return nil, fmt.Errorf("start %s: log pipe: %w", svc, err)
	}
	logR := os.NewFile(uintptr(logp[0]), "log")
	defer syscall.Close(logp[1])

	args := []string{"postern", "daemon", svc.daemon}
	for _, o := range svc.Options {
		args = append(args, "-o", o.Name+"="+o.Value)
	}
	args = append(args, svc.Args...)
	files := []uintptr{uintptr(m.devnull), uintptr(m.devnull), uintptr(logp[1]), uintptr(pair[1])}
	for _, l := range r.lns {
		files = append(files, uintptr(l.fd))
	}
	env := m.childEnv(r)
	if fd, how := m.sink.forChild(); fd >= 0 {
		files = append(files, uintptr(fd))
		env = append(env, daemon.EnvLog+"="+how)
	}
	attr := &syscall.ProcAttr{
		Dir:   m.cfg.QueueDir,
		Env:   env,
		Files: files,
		Sys:   &syscall.SysProcAttr{Setpgid: true, Credential: m.credentialFor(svc)},
	}
	var pid int
	err = timerslack.Run(daemonTimerSlack(svc.daemon), func() (err error) {
		pid, err = syscall.ForkExec(m.exe, args, attr)
		return err
	})
	if err != nil {
		mine.Close()
		logR.Close()
		return nil, fmt.Errorf("start %s: %w", svc, err)
	}
	proc, err := os.FindProcess(pid)
	if err != nil {
		mine.Close()
		logR.Close()
		return nil, fmt.Errorf("start %s: %w", svc, err)
	}
	c := &child{run: r, gen: r.gen, proc: proc, pid: pid, status: mine, started: time.Now()}
	name := m.cfg.SyslogName
	for _, o := range svc.Options {
		if o.Name == "syslog_name" {
			name = strings.ReplaceAll(strings.ReplaceAll(o.Value, "${service_name}", svc.Name), "$service_name", svc.Name)
		}
	}
	prefix := maillog.Prefix(name, svc.daemon, c.pid)
	go m.readLog(c, logR, prefix)
	go m.readStatus(c)
	go func() {
		st, err := proc.Wait()
		c.exited.Store(true)
		m.events <- exitEvent{c: c, state: st, err: err}
	}()
	return c, nil
}

func (m *Master) childEnv(r *running) []string {
	env := []string{
		daemon.EnvOnDemand + "=" + onDemandFlag(r),
		daemon.EnvConfig + "=" + m.cfg.ConfigDir,
		daemon.EnvBuild + "=" + m.buildID,
		daemon.EnvService + "=" + r.svc.Name + "/" + r.svc.Type,
		daemon.EnvListeners + "=" + strconv.Itoa(len(r.lns)),
		daemon.EnvMaxProc + "=" + strconv.Itoa(r.svc.maxProc),
		"PATH=/usr/bin:/bin:/usr/sbin:/sbin",
	}
	if r.svc.chroot {
		// The child starts as root and confines itself once it has
		// opened its tables (internal/daemon).
		env = append(env, daemon.EnvChroot+"="+m.cfg.QueueDir)
		if r.svc.Unpriv {
			env = append(env, fmt.Sprintf("%s=%d:%d", daemon.EnvDrop, m.ident.UID, m.ident.GID))
		}
	}
	if v := runtimeEnv(r.svc.daemon, m.cfg.ImportEnvironment); v != "" {
		env = append(env, v)
	}
	for _, name := range m.cfg.ImportEnvironment {
		k, v, hasValue := strings.Cut(name, "=")
		if hasValue {
			env = append(env, k+"="+v)
		} else if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// credentialFor gives the credentials a child starts with: mail_owner for
// unprivileged services when master runs as root, none otherwise (root
// stays root for local/virtual/pipe/spawn, which start each delivery as
// the recipient in a process of its own; a chrooted daemon starts as root
// and drops to mail_owner itself after the chroot; an ordinary user's
// master runs everything as that user).
func (m *Master) credentialFor(svc *service) *syscall.Credential {
	if !m.ident.Root || !svc.Unpriv || svc.chroot {
		return nil
	}
	return &syscall.Credential{Uid: uint32(m.ident.UID), Gid: uint32(m.ident.GID), Groups: []uint32{}}
}

// readLog copies a child's log lines to the sink. A line that does not
// carry the daemon prefix (a Go panic trace, say) gets the child's.
func (m *Master) readLog(c *child, f *os.File, prefix string) {
	defer f.Close()
	br := bufio.NewReaderSize(f, 64<<10)
	// Lines that arrived together (a daemon writes what it gathered in one
	// go) are written together.
	var batch [][]byte
	var store []byte
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 && line[len(line)-1] == '\n' {
			line = line[:len(line)-1]
		}
		if len(line) > 0 && !isSchedLine(line) {
			start := len(store)
			if !hasLogPrefix(line) {
				store = append(store, prefix...)
			}
			store = append(store, line...)
			batch = append(batch, store[start:len(store):len(store)])
			if m.wantLastLog(c) {
				m.setLastLog(c, string(store[start:]))
			}
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if len(batch) > 0 && (err != nil || br.Buffered() == 0 || len(store) > 256<<10) {
			m.sink.writeLines(batch)
			batch, store = batch[:0], store[:0]
		}
		if err != nil {
			return
		}
	}
}

// hasLogPrefix reports whether a line starts like "name[123]: " or
// "name/svc[123]: ".
func hasLogPrefix(line []byte) bool {
	i := bytes.Index(line, []byte("]: "))
	if i <= 0 || i > 128 {
		return false
	}
	j := bytes.LastIndexByte(line[:i], '[')
	if j <= 0 || j+1 == i || bytes.IndexByte(line[:j], ' ') >= 0 {
		return false
	}
	for _, b := range line[j+1 : i] {
		if b < '0' || b > '9' {
			return false
		}
	}
	return true
}

func (m *Master) wantLastLog(c *child) bool {
	m.lastMu.Lock()
	defer m.lastMu.Unlock()
	return !c.ready
}

func (m *Master) setLastLog(c *child, line string) {
	m.lastMu.Lock()
	c.lastLog = line
	m.lastMu.Unlock()
}

func (m *Master) lastLog(c *child) string {
	m.lastMu.Lock()
	defer m.lastMu.Unlock()
	return c.lastLog
}

// readStatus turns the child's "ready" and "restart" into events.
func (m *Master) readStatus(c *child) {
	sc := bufio.NewScanner(c.status)
	for sc.Scan() {
		switch sc.Text() {
		case daemon.MsgReady:
			m.events <- readyEvent{c: c}
		case daemon.MsgRestart:
			m.events <- replaceEvent{c: c}
		}
	}
}

type readyEvent struct{ c *child }

// replaceEvent: the child asks to be replaced by a fresh one.
type replaceEvent struct{ c *child }

// wake sends a wake-up to a child; a child too busy to read its status
// socket does not block master.
func (c *child) wake() {
	c.status.SetWriteDeadline(time.Now().Add(100 * time.Millisecond)) //nolint:errcheck // best effort
	fmt.Fprintf(c.status, "%s\n", daemon.MsgWakeup)
}

// signal sends sig to the child.
func (c *child) signal(sig syscall.Signal) {
	c.proc.Signal(sig) //nolint:errcheck // it may be gone already
}

func onDemandFlag(r *running) string {
	if r.onDemand() {
		return "1"
	}
	return "0"
}

// describeExit gives Postfix's wording for how a process ended.
func describeExit(st *os.ProcessState) string {
	if st == nil {
		return "exit status unknown"
	}
	if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return fmt.Sprintf("killed by signal %d", int(ws.Signal()))
	}
	return fmt.Sprintf("exit status %d", st.ExitCode())
}
