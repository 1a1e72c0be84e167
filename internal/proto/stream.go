package proto

import (
	"errors"
	"io"
	"net"
	"os"
	"time"
)

// Local submission (sendmail → postdrop, and smtpd -S → postdrop) speaks
// the cleanup protocol over a child's standard input and output instead
// of a socket, without the Hello exchange:
//
//	submitter → CleanupOpen, content frames, end frame   (postdrop's stdin)
//	postdrop  → CleanupOpened, then CleanupResult         (postdrop's stdout)
//
// postdrop answers CleanupOpened as soon as its maildrop file exists and
// CleanupResult once the file is durable; its exit status says the same
// (0, or 75 with a "postdrop: fatal: …" line on standard error), so a
// submitter may also ignore the answers. A submitter that closes postdrop's
// input without the end frame aborts the submission: nothing is queued.

// NewStreamConn makes a Conn over a pair of byte streams, such as a
// child's standard output (r) and standard input (w). Deadlines do not
// apply to such streams; Close closes both when they are io.Closers.
func NewStreamConn(r io.Reader, w io.Writer) *Conn {
	return NewConn(&streamConn{r: r, w: w})
}

// NewCleanupClient uses an established Conn, such as one from
// NewStreamConn, for cleanup-protocol submissions. No Hello is exchanged.
func NewCleanupClient(c *Conn) *CleanupClient { return &CleanupClient{c: c} }

// streamConn adapts two byte streams to net.Conn for Conn.
type streamConn struct {
	r io.Reader
	w io.Writer
}

func (s *streamConn) Read(p []byte) (int, error)  { return s.r.Read(p) }
func (s *streamConn) Write(p []byte) (int, error) { return s.w.Write(p) }

func (s *streamConn) Close() error {
	var errs []error
	for _, x := range []any{s.w, s.r} {
		c, ok := x.(io.Closer)
		if !ok {
			continue
		}
		// r and w may be one file: a second close is no error here.
		if err := c.Close(); err != nil && !errors.Is(err, os.ErrClosed) && !errors.Is(err, io.ErrClosedPipe) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (s *streamConn) LocalAddr() net.Addr              { return streamAddr{} }
func (s *streamConn) RemoteAddr() net.Addr             { return streamAddr{} }
func (s *streamConn) SetDeadline(time.Time) error      { return nil }
func (s *streamConn) SetReadDeadline(time.Time) error  { return nil }
func (s *streamConn) SetWriteDeadline(time.Time) error { return nil }
func (streamAddr) Network() string                     { return "stream" }
func (streamAddr) String() string                      { return "stdio" }

type streamAddr struct{}
