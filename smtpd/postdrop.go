package smtpd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os/exec"
	"strings"
	"time"

	"github.com/postern-mta/postern/internal/proto"
)

// postdropSubmitter is the submission path of "sendmail -bs": the caller
// is an ordinary user who cannot reach private/cleanup, so each message
// goes to the set-group-ID postdrop program, which writes it into
// maildrop/ for pickup. postdrop reads the same frames cleanup does: the
// envelope (a CleanupOpen message), content chunks and the end frame. If
// it writes a CleanupResult frame on its standard output, its queue ID is
// the one we give the client.
type postdropSubmitter struct {
	path string   // the postdrop program
	env  []string // its environment (MAIL_CONFIG)
}

func (p *postdropSubmitter) Open(ctx context.Context, o *proto.CleanupOpen) (Submission, error) {
	cmd := exec.Command(p.path, "-r")
	cmd.Env = p.env
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("run %s: %w", p.path, err)
	}
	var out, errOut bytes.Buffer
	cmd.Stdout = &limitedBuffer{b: &out, n: 64 << 10}
	cmd.Stderr = &limitedBuffer{b: &errOut, n: 4 << 10}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("run %s: %w", p.path, err)
	}
	c := proto.NewConn(pipeConn{w: stdin})
	s := &postdropSub{cmd: cmd, stdin: stdin, c: c, out: &out, errOut: &errOut}
	if err := c.Queue(o); err != nil {
		s.Abort()
		return nil, fmt.Errorf("send envelope to postdrop: %w", err)
	}
	s.w = c.ContentWriter()
	return s, nil
}

type postdropSub struct {
	cmd         *exec.Cmd
	stdin       io.WriteCloser
	c           *proto.Conn
	w           io.WriteCloser
	out, errOut *bytes.Buffer
	done        bool
}

func (s *postdropSub) ID() string                  { return "" }
func (s *postdropSub) Write(b []byte) (int, error) { return s.w.Write(b) }

func (s *postdropSub) Finish(ctx context.Context) (*proto.CleanupResult, error) {
	s.done = true
	err := s.w.Close()
	if err == nil {
		err = s.c.Flush()
	}
	s.stdin.Close()
	werr := s.cmd.Wait()
	if err != nil {
		return nil, fmt.Errorf("send message to postdrop: %w", err)
	}
	if werr != nil {
		return nil, fmt.Errorf("postdrop: %v: %s", werr, strings.TrimSpace(s.errOut.String()))
	}
	res := &proto.CleanupResult{}
	if s.out.Len() > 0 {
		rc := proto.NewConn(pipeConn{r: bytes.NewReader(s.out.Bytes())})
		var r proto.CleanupResult
		if rc.Recv(&r) == nil {
			res = &r
			if r.Status != nil {
				return res, r.Status
			}
		}
	}
	return res, nil
}

// Abort stops postdrop before the end frame: it writes nothing.
func (s *postdropSub) Abort() {
	if s.done {
		return
	}
	s.done = true
	s.stdin.Close()
	if s.cmd.Process != nil {
		s.cmd.Process.Kill() //nolint:errcheck // it may have exited already
	}
	s.cmd.Wait() //nolint:errcheck // we are throwing the message away
}

// pipeConn lets proto's framing run over a pipe.
type pipeConn struct {
	r io.Reader
	w io.Writer
}

func (p pipeConn) Read(b []byte) (int, error) {
	if p.r == nil {
		return 0, io.EOF
	}
	return p.r.Read(b)
}

func (p pipeConn) Write(b []byte) (int, error) {
	if p.w == nil {
		return 0, errors.New("read-only pipe")
	}
	return p.w.Write(b)
}
func (pipeConn) Close() error                     { return nil }
func (pipeConn) LocalAddr() net.Addr              { return pipeAddr{} }
func (pipeConn) RemoteAddr() net.Addr             { return pipeAddr{} }
func (pipeConn) SetDeadline(time.Time) error      { return nil }
func (pipeConn) SetReadDeadline(time.Time) error  { return nil }
func (pipeConn) SetWriteDeadline(time.Time) error { return nil }

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "pipe" }

// limitedBuffer keeps the first n bytes written to it.
type limitedBuffer struct {
	b *bytes.Buffer
	n int
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := l.n - l.b.Len(); room > 0 {
		l.b.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}
