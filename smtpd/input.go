package smtpd

import (
	"bytes"
	"errors"
	"io"
	"net"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// input reads a client's commands and data. It keeps no buffer while the
// client is idle: it waits for the socket to become readable without one
// (syscall.RawConn), and only then takes a buffer from a pool. An idle
// session therefore costs its goroutine and little else, which is what
// lets one smtpd hold ten thousand idle clients.
type input struct {
	conn    net.Conn
	raw     syscall.RawConn // nil when the connection cannot be polled (TLS, pipes)
	buf     []byte
	r, w    int
	big     bool // buf came from the large pool
	timeout time.Duration
	// beforeWait runs before the reader blocks for more input (the
	// session flushes its replies there).
	beforeWait func() error
	eof        bool
}

// Buffer sizes: commands fit in the small one; DATA switches to the large
// one for throughput.
const (
	smallBuf = 4 << 10
	largeBuf = 64 << 10
)

var (
	smallPool = sync.Pool{New: func() any { b := make([]byte, smallBuf); return &b }}
	largePool = sync.Pool{New: func() any { b := make([]byte, largeBuf); return &b }}
)

var errClosed = errors.New("connection closed")

func newInput(conn net.Conn, timeout time.Duration) *input {
	in := &input{conn: conn, timeout: timeout}
	in.setConn(conn)
	return in
}

// setConn switches to a new connection (after STARTTLS). Buffered bytes
// are dropped: nothing a client sent before the TLS handshake may be
// taken as sent over TLS.
func (in *input) setConn(conn net.Conn) {
	in.conn = conn
	in.raw = nil
	in.r, in.w = 0, 0
	if sc, ok := conn.(syscall.Conn); ok {
		if _, isTCP := conn.(*net.TCPConn); isTCP {
			if raw, err := sc.SyscallConn(); err == nil {
				in.raw = raw
			}
		}
	}
}

// buffered is the number of unread bytes held.
func (in *input) buffered() int { return in.w - in.r }

// pending reports whether the client has sent more than we have read:
// bytes in our buffer or in the kernel's.
func (in *input) pending() bool {
	if in.buffered() > 0 {
		return true
	}
	if in.raw == nil {
		return false
	}
	n := 0
	in.raw.Control(func(fd uintptr) { //nolint:errcheck // best effort
		n, _ = unix.IoctlGetInt(int(fd), unix.SIOCINQ)
	})
	return n > 0
}

// peek returns up to n unread buffered bytes (for the pipelining log).
func (in *input) peek(n int) []byte {
	b := in.buf[in.r:in.w]
	if len(b) > n {
		b = b[:n]
	}
	return b
}

// release gives the buffer back when nothing is buffered.
func (in *input) release() {
	if in.buf == nil || in.r < in.w {
		return
	}
	b := in.buf[:cap(in.buf)]
	if in.big {
		largePool.Put(&b)
	} else {
		smallPool.Put(&b)
	}
	in.buf, in.r, in.w, in.big = nil, 0, 0, false
}

// grow switches to the large buffer, keeping unread bytes.
func (in *input) grow() {
	if in.big {
		return
	}
	nb := *largePool.Get().(*[]byte)
	n := copy(nb, in.buf[in.r:in.w])
	old := in.buf
	in.buf, in.r, in.w, in.big = nb, 0, n, true
	if old != nil {
		old = old[:cap(old)]
		smallPool.Put(&old)
	}
}

// fill reads more bytes. It returns io.EOF when the client closed the
// connection, or a timeout error.
func (in *input) fill() error {
	if in.eof {
		return io.EOF
	}
	if in.r > 0 && in.r == in.w {
		in.r, in.w = 0, 0
	}
	if in.buf == nil || in.r == in.w {
		if in.beforeWait != nil {
			if err := in.beforeWait(); err != nil {
				return err
			}
		}
	}
	if err := in.conn.SetReadDeadline(time.Now().Add(in.timeout)); err != nil {
		return err
	}
	if in.buf == nil {
		if in.raw != nil {
			return in.readIdle()
		}
		in.buf = *smallPool.Get().(*[]byte)
		in.r, in.w = 0, 0
	}
	if in.r > 0 && in.w == len(in.buf) {
		n := copy(in.buf, in.buf[in.r:in.w])
		in.r, in.w = 0, n
	}
	if in.w == len(in.buf) {
		return errors.New("input buffer full")
	}
	n, err := in.conn.Read(in.buf[in.w:])
	in.w += n
	if n > 0 {
		return nil
	}
	if err == nil {
		return nil
	}
	if errors.Is(err, io.EOF) {
		in.eof = true
	}
	return err
}

// readIdle reads into a buffer it takes from the pool only once data is
// there: an idle session waits in the network poller holding no buffer,
// and a read costs one system call that fails (nothing yet) and one that
// reads, no more.
func (in *input) readIdle() error {
	var n int
	var rerr error
	err := in.raw.Read(func(fd uintptr) bool {
		b := smallPool.Get().(*[]byte)
		n, rerr = syscall.Read(int(fd), *b)
		if rerr == syscall.EAGAIN || rerr == syscall.EINTR {
			smallPool.Put(b)
			return false
		}
		in.buf = *b
		return true
	})
	switch {
	case errors.Is(err, net.ErrClosed):
		return errClosed
	case err != nil:
		return err
	case rerr != nil:
		return rerr
	}
	if in.buf == nil || n <= 0 {
		in.eof = true
		return io.EOF
	}
	in.r, in.w = 0, n
	return nil
}

// readLine returns the next line without its line end (CRLF or LF). A
// line longer than max is cut at max bytes and the rest of it skipped, as
// Postfix does. The returned slice is valid until the next read.
func (in *input) readLine(max int) ([]byte, error) {
	var acc []byte // a line that spans reads
	over := false  // acc reached max: the rest of the line is skipped
	for {
		if in.r < in.w {
			b := in.buf[in.r:in.w]
			if i := bytes.IndexByte(b, '\n'); i >= 0 {
				in.r += i + 1
				line := b[:i]
				if acc != nil || over {
					if !over {
						acc = append(acc, line...)
					}
					line = acc
				}
				line = trimCR(line)
				if len(line) > max {
					line = line[:max]
				}
				return line, nil
			}
			if !over {
				acc = append(acc, b...)
				if len(acc) > max+1 {
					acc, over = acc[:max+1], true
				}
			}
			in.r = in.w
		}
		if err := in.fill(); err != nil {
			return nil, err
		}
	}
}

func trimCR(b []byte) []byte {
	if len(b) > 0 && b[len(b)-1] == '\r' {
		b = b[:len(b)-1]
	}
	return b
}
