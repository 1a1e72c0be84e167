package privexec

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/postern-mta/postern/internal/proto"
)

// helper is one running "postern privexec" process and the parent's end of
// its socket.
type helper struct {
	key  string
	cmd  *exec.Cmd
	nc   net.Conn
	c    *proto.Conn
	done chan struct{} // closed when the process has been waited for
	used time.Time     // when it last finished a request
}

// errGone marks a helper found dead before it read a request: the request
// may be sent to another helper.
var errGone = errors.New("helper process is gone")

// startHelper starts a helper with cred.
func (r *Runner) startHelper(cred *Cred) (*helper, error) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("socket pair for helper: %w", err)
	}
	mine := os.NewFile(uintptr(fds[0]), "privexec parent")
	theirs := os.NewFile(uintptr(fds[1]), "privexec helper")
	defer theirs.Close()
	nc, err := net.FileConn(mine)
	mine.Close()
	if err != nil {
		theirs.Close()
		return nil, fmt.Errorf("socket for helper: %w", err)
	}
	exe, args := r.exe()
	cmd := &exec.Cmd{
		Path:   exe,
		Args:   append([]string{exe}, args...),
		Env:    r.env(),
		Dir:    "/",
		Stdin:  theirs,
		Stderr: r.Stderr,
		SysProcAttr: &syscall.SysProcAttr{
			Setpgid:    true,
			Credential: sysCred(cred),
		},
	}
	if err := cmd.Start(); err != nil {
		nc.Close()
		return nil, fmt.Errorf("start helper %s as %s: %w", exe, cred, err)
	}
	h := &helper{key: cred.key(), cmd: cmd, nc: nc, c: proto.NewConn(nc), done: make(chan struct{})}
	go func() {
		cmd.Wait() //nolint:errcheck // the exit is seen through the socket
		close(h.done)
	}()
	return h, nil
}

// alive reports whether the helper process has not exited.
func (h *helper) alive() bool {
	select {
	case <-h.done:
		return false
	default:
		return true
	}
}

// call sends one request with its content and reads the result. ctx bounds
// the whole call. An error wrapping errGone means the helper had died before
// it could read the request.
func (h *helper) call(ctx context.Context, req *request, content io.Reader) (*Result, error) {
	stop := context.AfterFunc(ctx, func() { h.nc.SetDeadline(time.Now()) }) //nolint:errcheck // best effort
	defer stop()
	c := h.c
	c.WithContext(ctx)
	c.Timeout = time.Until(req.Deadline)
	if c.Timeout <= 0 {
		return nil, context.DeadlineExceeded
	}
	if err := c.Send(req); err != nil {
		if isBroken(err) {
			return nil, fmt.Errorf("%w: %v", errGone, err)
		}
		return nil, fmt.Errorf("send request: %w", err)
	}
	w := c.ContentWriter()
	if content != nil {
		if _, err := io.Copy(w, content); err != nil {
			return nil, fmt.Errorf("send content: %w", err)
		}
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("send content: %w", err)
	}
	if err := c.Flush(); err != nil {
		return nil, fmt.Errorf("send content: %w", err)
	}
	var res Result
	if err := c.Recv(&res); err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("wait for result: %w", ctx.Err())
		}
		return nil, fmt.Errorf("read result: %w", err)
	}
	if res.Status == nil {
		return nil, fmt.Errorf("%w: result without a status", proto.ErrProtocol)
	}
	return &res, nil
}

// isBroken reports a write to a peer that is gone.
func isBroken(err error) bool {
	return errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET)
}

// close ends an idle helper: closing the socket makes it exit; a helper
// that does not exit soon is killed.
func (h *helper) close() {
	h.nc.Close()
	go func() {
		select {
		case <-h.done:
		case <-time.After(2 * time.Second):
			h.kill()
		}
	}()
}

// kill ends a helper and everything it started, now.
func (h *helper) kill() {
	h.nc.Close()
	if h.cmd.Process != nil {
		syscall.Kill(-h.cmd.Process.Pid, syscall.SIGKILL) //nolint:errcheck // it may be gone
		h.cmd.Process.Kill()                              //nolint:errcheck // it may be gone
	}
}
