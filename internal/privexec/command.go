package privexec

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"github.com/postern-mta/postern/internal/timerslack"
)

// Command is an external command to run as a user.
type Command struct {
	// Argv is the command and its arguments; Argv[0] is a path, or a name
	// looked up in the PATH of Env.
	Argv []string
	Env  []string // the whole environment
	Dir  string   // working directory; "" is "/"
	Cred *Cred    // nil: as the caller
	// Stdin is copied to the command's standard input, which is then
	// closed. A command that exits without reading it all is not an error.
	Stdin io.Reader
	// Conn, when set, is the command's standard input, output and error
	// (spawn's connection); Stdin and output capture are then unused.
	Conn *os.File
	// TimeLimit ends the command and its whole process group (SIGKILL)
	// when it runs longer; 0 means no limit besides ctx.
	TimeLimit time.Duration
	// OutputLimit is how much of the combined standard output and error is
	// kept; the rest is read and dropped. 0 means DefaultOutputLimit.
	OutputLimit int
}

// DefaultOutputLimit is how much command output is kept for the log and
// the bounce, as Postfix keeps a line's worth.
const DefaultOutputLimit = 2048

// CommandResult is how a command ended.
type CommandResult struct {
	// Exit is the exit status; -1 when the command was killed by a signal
	// or never started.
	Exit   int
	Signal syscall.Signal // the signal that ended it, if any
	// TimedOut: the time limit or ctx ended it.
	TimedOut bool
	// Output is the start of what it wrote to standard output and error.
	Output []byte
	// StartErr is why it could not be started (exec or chdir failed).
	StartErr error
	// WriteErr is a failure to write its standard input other than the
	// command not reading it.
	WriteErr error
}

// RunCommand runs c and waits for it to end. The error is nil whenever the
// command was started or its start failed in a way the result describes
// (StartErr); an error means no process could be created at all.
func RunCommand(ctx context.Context, c *Command) (*CommandResult, error) {
	if len(c.Argv) == 0 || c.Argv[0] == "" {
		return nil, errors.New("run command: empty command")
	}
	dir := c.Dir
	if dir == "" {
		dir = "/"
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		if err == nil {
			err = syscall.ENOTDIR
		}
		return &CommandResult{Exit: -1, StartErr: &fs.PathError{Op: "chdir", Path: dir, Err: unwrapPath(err)}}, nil
	}
	path, err := lookPath(c.Argv[0], c.Env)
	if err != nil {
		return &CommandResult{Exit: -1, StartErr: err}, nil
	}
	cmd := &exec.Cmd{
		Path: path,
		Args: c.Argv,
		Env:  c.Env,
		Dir:  dir,
		SysProcAttr: &syscall.SysProcAttr{
			Setpgid:    true,
			Credential: sysCred(c.Cred),
		},
	}
	if c.Conn != nil {
		return runConn(ctx, cmd, c)
	}
	return runPiped(ctx, cmd, c)
}

// lookPath finds a command name without a slash in the PATH of env.
func lookPath(name string, env []string) (string, error) {
	for i := 0; i < len(name); i++ {
		if name[i] == '/' {
			return name, nil
		}
	}
	path := "/usr/bin:/bin"
	for _, kv := range env {
		if len(kv) > 5 && kv[:5] == "PATH=" {
			path = kv[5:]
		}
	}
	for _, d := range splitPath(path) {
		p := d + "/" + name
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", &fs.PathError{Op: "exec", Path: name, Err: exec.ErrNotFound}
}

func splitPath(p string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(p); i++ {
		if i == len(p) || p[i] == ':' {
			d := p[start:i]
			if d == "" {
				d = "."
			}
			out = append(out, d)
			start = i + 1
		}
	}
	return out
}

// runPiped runs a command with its input from c.Stdin and its output
// captured.
func runPiped(ctx context.Context, cmd *exec.Cmd, c *Command) (*CommandResult, error) {
	inR, inW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("run %s: %w", c.Argv[0], err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		inR.Close()
		inW.Close()
		return nil, fmt.Errorf("run %s: %w", c.Argv[0], err)
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = inR, outW, outW
	err = startCommand(cmd)
	inR.Close()
	outW.Close()
	if err != nil {
		inW.Close()
		outR.Close()
		return &CommandResult{Exit: -1, StartErr: err}, nil
	}
	res := &CommandResult{}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		res.WriteErr = feed(inW, c.Stdin)
	}()
	limit := c.OutputLimit
	if limit <= 0 {
		limit = DefaultOutputLimit
	}
	go func() {
		defer wg.Done()
		res.Output = capture(outR, limit)
	}()
	wait(ctx, cmd, c.TimeLimit, res)
	// The command is gone; a descendant may still hold the pipes. Stop
	// feeding it and give its output a moment to drain.
	inW.Close()
	drained := make(chan struct{})
	go func() { wg.Wait(); close(drained) }()
	select {
	case <-drained:
	case <-time.After(100 * time.Millisecond):
		outR.Close()
		<-drained
	}
	outR.Close()
	return res, nil
}

// feed copies r to w and closes w. A command that stops reading (EPIPE) or
// exits (the pipe closed under us) is not a write error.
func feed(w *os.File, r io.Reader) error {
	defer w.Close()
	if r == nil {
		return nil
	}
	_, err := io.Copy(w, r)
	if err == nil || errors.Is(err, syscall.EPIPE) || errors.Is(err, os.ErrClosed) {
		return nil
	}
	return err
}

// capture keeps the first limit bytes of r and drops the rest, until EOF.
func capture(r io.Reader, limit int) []byte {
	buf := make([]byte, 0, min(limit, 4096))
	tmp := make([]byte, 4096)
	for {
		n, err := r.Read(tmp)
		if n > 0 && len(buf) < limit {
			buf = append(buf, tmp[:min(n, limit-len(buf))]...)
		}
		if err != nil {
			return buf
		}
	}
}

// runConn runs a command with a connection as its standard input, output
// and error.
func runConn(ctx context.Context, cmd *exec.Cmd, c *Command) (*CommandResult, error) {
	cmd.Stdin, cmd.Stdout, cmd.Stderr = c.Conn, c.Conn, c.Conn
	if err := startCommand(cmd); err != nil {
		return &CommandResult{Exit: -1, StartErr: err}, nil
	}
	res := &CommandResult{}
	wait(ctx, cmd, c.TimeLimit, res)
	return res, nil
}

// wait waits for cmd, killing its process group at the time limit or when
// ctx ends, and records how it ended.
func wait(ctx context.Context, cmd *exec.Cmd, limit time.Duration, res *CommandResult) {
	done := make(chan struct{})
	killed := make(chan bool, 1)
	var timer <-chan time.Time
	if limit > 0 {
		t := time.NewTimer(limit)
		defer t.Stop()
		timer = t.C
	}
	go func() {
		select {
		case <-done:
			killed <- false
			return
		case <-timer:
		case <-ctx.Done():
		}
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) //nolint:errcheck // it may be gone
		killed <- true
	}()
	err := cmd.Wait()
	close(done)
	res.TimedOut = <-killed
	res.Exit = cmd.ProcessState.ExitCode()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		res.Signal = ws.Signal()
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		res.StartErr = err
	}
}

// startCommand starts a user's command with the kernel's default timer
// slack: the busy daemons run with a larger one (master/runtime.go), which
// is theirs alone.
func startCommand(cmd *exec.Cmd) error {
	return timerslack.Run(timerslack.Default, cmd.Start)
}
