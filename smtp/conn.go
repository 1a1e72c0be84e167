package smtp

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"time"
)

// conn is the wire under an SMTP session: buffered reads of replies and
// buffered writes of commands, each with its own deadline. A context
// attached with bind makes every blocked read or write end at once when
// the delivery is cancelled.
type conn struct {
	nc net.Conn
	br *bufio.Reader
	bw *bufio.Writer
	// wtimeout bounds each write to the network (set per stage).
	wtimeout time.Duration
	ctx      context.Context
}

func newConn(nc net.Conn) *conn {
	c := &conn{nc: nc}
	c.br = bufio.NewReaderSize(nc, 4096)
	c.bw = bufio.NewWriterSize(deadlineWriter{c}, 16<<10)
	return c
}

// swap replaces the network connection (after STARTTLS). Nothing may be
// buffered.
func (c *conn) swap(nc net.Conn) {
	c.nc = nc
	c.br.Reset(nc)
	c.bw.Reset(deadlineWriter{c})
}

// bind makes ctx cancel the connection's I/O until the returned function
// is called.
func (c *conn) bind(ctx context.Context) (unbind func()) {
	c.ctx = ctx
	stop := context.AfterFunc(ctx, func() {
		c.nc.SetDeadline(time.Unix(1, 0)) //nolint:errcheck // best effort: the I/O fails either way
	})
	return func() {
		stop()
		c.ctx = nil
	}
}

func (c *conn) canceled() error {
	if c.ctx != nil {
		return c.ctx.Err()
	}
	return nil
}

// reply reads one reply within timeout.
func (c *conn) reply(timeout time.Duration) (*reply, error) {
	if err := c.nc.SetReadDeadline(time.Now().Add(timeout)); err != nil {
		return nil, err
	}
	// Checked after setting the deadline: a cancellation from now on
	// moves the deadline into the past.
	if err := c.canceled(); err != nil {
		return nil, err
	}
	return readReply(c.br)
}

// command buffers one command line (without CRLF).
func (c *conn) command(line string) {
	c.bw.WriteString(line) //nolint:errcheck // the error comes back from flush
	c.bw.WriteString("\r\n")
}

// flush sends what is buffered; each write gets timeout.
func (c *conn) flush(timeout time.Duration) error {
	c.wtimeout = timeout
	return c.bw.Flush()
}

func (c *conn) close() error { return c.nc.Close() }

// deadlineWriter sets the write deadline before every write to the
// network, so a stalled server is noticed after wtimeout, however much is
// sent.
type deadlineWriter struct{ c *conn }

func (w deadlineWriter) Write(p []byte) (int, error) {
	if err := w.c.nc.SetWriteDeadline(time.Now().Add(w.c.wtimeout)); err != nil {
		return 0, err
	}
	if err := w.c.canceled(); err != nil {
		return 0, err
	}
	return w.c.nc.Write(p)
}

// isTimeout reports whether err is a deadline passing (ours, not a
// cancellation).
func isTimeout(err error) bool {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// isGone reports whether err says the peer went away: the errors a stale
// cached connection gives on first use.
func isGone(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}
