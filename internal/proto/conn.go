// Package proto holds every message Postern's daemons exchange, the framing
// they travel in, and a typed client per service, so that no daemon imports
// another and no caller builds a message by hand.
//
// # Framing
//
// Daemons talk over Unix stream sockets under queue_directory:
// private/NAME (mail owner only) and public/NAME (group setgid_group). A
// frame is one kind byte, a 4-byte big-endian length and the payload:
//
//	'J'  a JSON message (at most MaxMessage bytes)
//	'D'  a chunk of message content (at most MaxChunk bytes)
//	'Z'  the end of content (empty)
//
// A connection starts with the client's Hello naming the service and the
// protocol version; the server answers with a Reply (Status nil = welcome).
// After that a connection carries any number of requests, one after the
// other. Every read and write has a deadline (Conn.Timeout).
//
// # Failure
//
// A Status in a reply is the service's answer about mail (dsn.Status, may be
// permanent). An error from a client method is a failure to talk (the
// service is down, a deadline passed): callers treat it as temporary.
package proto

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/postern-mta/postern/internal/dsn"
)

// Frame kinds.
const (
	kindJSON = 'J'
	kindData = 'D'
	kindEnd  = 'Z'
)

// Limits on what a peer may send.
const (
	MaxMessage = 4 << 20  // one JSON message
	MaxChunk   = 64 << 10 // one content chunk
)

// DefaultTimeout bounds one read or write when Conn.Timeout is zero.
const DefaultTimeout = 100 * time.Second

// ErrProtocol marks a peer that broke the framing rules.
var ErrProtocol = errors.New("protocol error")

// Conn is one end of a daemon connection.
type Conn struct {
	nc      net.Conn
	r       *bufio.Reader
	w       *bufio.Writer
	Timeout time.Duration
	// ctx, when set, bounds every operation as well.
	ctx     context.Context
	hdr     [5]byte
	payload []byte
	out     []byte // the last fast-encoded message, reused
}

// NewConn wraps an established connection.
func NewConn(nc net.Conn) *Conn {
	return &Conn{nc: nc, r: bufio.NewReaderSize(nc, 64<<10), w: bufio.NewWriterSize(nc, 64<<10)}
}

// NetConn returns the underlying connection.
func (c *Conn) NetConn() net.Conn { return c.nc }

// Close closes the connection.
func (c *Conn) Close() error { return c.nc.Close() }

// WithContext makes every following operation also end when ctx does.
func (c *Conn) WithContext(ctx context.Context) { c.ctx = ctx }

func (c *Conn) deadline() time.Time {
	t := c.Timeout
	if t == 0 {
		t = DefaultTimeout
	}
	d := time.Now().Add(t)
	if c.ctx != nil {
		if cd, ok := c.ctx.Deadline(); ok && cd.Before(d) {
			d = cd
		}
	}
	return d
}

func (c *Conn) writeFrame(kind byte, p []byte) error {
	if err := c.nc.SetWriteDeadline(c.deadline()); err != nil {
		return err
	}
	c.hdr[0] = kind
	binary.BigEndian.PutUint32(c.hdr[1:], uint32(len(p)))
	if _, err := c.w.Write(c.hdr[:]); err != nil {
		return err
	}
	_, err := c.w.Write(p)
	return err
}

// Flush sends what is buffered.
func (c *Conn) Flush() error {
	if err := c.nc.SetWriteDeadline(c.deadline()); err != nil {
		return err
	}
	return c.w.Flush()
}

// Send writes one message and flushes.
func (c *Conn) Send(v any) error {
	if err := c.Queue(v); err != nil {
		return err
	}
	return c.Flush()
}

// Queue writes one message without flushing, for a message followed at once
// by content.
func (c *Conn) Queue(v any) error {
	p, err := c.encode(v)
	if err != nil {
		return fmt.Errorf("encode %T: %w", v, err)
	}
	if len(p) > MaxMessage {
		return fmt.Errorf("encode %T: message of %d bytes is over the limit", v, len(p))
	}
	return c.writeFrame(kindJSON, p)
}

// maxKeptOut bounds the encoding buffer a Conn keeps between messages.
const maxKeptOut = 64 << 10

// encode gives v's JSON: by the hot messages' own encoders into c's
// buffer (fastjson.go), else by encoding/json. The result is valid until
// the next call.
func (c *Conn) encode(v any) ([]byte, error) {
	if cap(c.out) > maxKeptOut {
		c.out = nil
	}
	if p, ok := appendFast(c.out[:0], v); ok {
		c.out = p
		return p, nil
	}
	return json.Marshal(v)
}

// readFrame reads one frame header and payload.
func (c *Conn) readFrame() (byte, []byte, error) {
	if err := c.nc.SetReadDeadline(c.deadline()); err != nil {
		return 0, nil, err
	}
	if _, err := io.ReadFull(c.r, c.hdr[:]); err != nil {
		return 0, nil, err
	}
	kind := c.hdr[0]
	n := binary.BigEndian.Uint32(c.hdr[1:])
	limit := uint32(MaxMessage)
	switch kind {
	case kindJSON:
	case kindData:
		limit = MaxChunk
	case kindEnd:
		limit = 0
	default:
		return 0, nil, fmt.Errorf("%w: unknown frame kind %q", ErrProtocol, kind)
	}
	if n > limit {
		return 0, nil, fmt.Errorf("%w: frame of %d bytes is over the limit", ErrProtocol, n)
	}
	if cap(c.payload) < int(n) {
		c.payload = make([]byte, n)
	}
	p := c.payload[:n]
	if _, err := io.ReadFull(c.r, p); err != nil {
		return 0, nil, unexpected(err)
	}
	return kind, p, nil
}

func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// Recv reads one message into v. io.EOF means the peer closed the
// connection cleanly between messages. A hot message (fastjson.go) is
// decoded into a zero value that replaces *v; any other as by
// json.Unmarshal.
func (c *Conn) Recv(v any) error {
	kind, p, err := c.readFrame()
	if err != nil {
		return err
	}
	if kind != kindJSON {
		return fmt.Errorf("%w: expected a message, got frame %q", ErrProtocol, kind)
	}
	if m, ok := v.(fastMessage); ok && m.decodeJSON(p) == nil {
		return nil
	}
	if err := json.Unmarshal(p, v); err != nil {
		return fmt.Errorf("%w: decode %T: %v", ErrProtocol, v, err)
	}
	return nil
}

// ContentWriter returns a writer that sends content chunks. Close sends the
// end frame (it does not close the connection).
func (c *Conn) ContentWriter() io.WriteCloser { return &contentWriter{c: c} }

type contentWriter struct{ c *Conn }

func (w *contentWriter) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		k := min(len(p), MaxChunk)
		if err := w.c.writeFrame(kindData, p[:k]); err != nil {
			return n, err
		}
		n += k
		p = p[k:]
	}
	return n, nil
}

func (w *contentWriter) Close() error { return w.c.writeFrame(kindEnd, nil) }

// ContentReader returns a reader of content chunks up to the end frame,
// after which it returns io.EOF.
func (c *Conn) ContentReader() io.Reader { return &contentReader{c: c} }

type contentReader struct {
	c    *Conn
	rest []byte
	done bool
}

func (r *contentReader) Read(p []byte) (int, error) {
	for len(r.rest) == 0 {
		if r.done {
			return 0, io.EOF
		}
		kind, data, err := r.c.readFrame()
		if err != nil {
			return 0, unexpected(err)
		}
		switch kind {
		case kindData:
			r.rest = data
		case kindEnd:
			r.done = true
		default:
			return 0, fmt.Errorf("%w: expected content, got frame %q", ErrProtocol, kind)
		}
	}
	n := copy(p, r.rest)
	r.rest = r.rest[n:]
	return n, nil
}

// Hello opens every connection.
type Hello struct {
	Service string `json:"service"`
	Version int    `json:"version"`
}

// Reply is the generic answer: nil Status means success.
type Reply struct {
	Status *dsn.Status `json:"status,omitempty"`
}

// Dial connects to a service's socket and exchanges the Hello.
func Dial(ctx context.Context, path, service string, version int) (*Conn, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return nil, fmt.Errorf("connect to %s service: %w", service, err)
	}
	c := NewConn(nc)
	c.WithContext(ctx)
	if err := c.Send(Hello{Service: service, Version: version}); err != nil {
		nc.Close()
		return nil, fmt.Errorf("greet %s service: %w", service, err)
	}
	var r Reply
	if err := c.Recv(&r); err != nil {
		nc.Close()
		return nil, fmt.Errorf("greet %s service: %w", service, err)
	}
	if r.Status != nil {
		nc.Close()
		return nil, fmt.Errorf("greet %s service: %w", service, r.Status)
	}
	c.ctx = nil
	return c, nil
}

// Accept reads a client's Hello on a new server connection and welcomes it
// when it asks for service at version; otherwise it answers why not and
// returns an error.
func Accept(nc net.Conn, service string, version int) (*Conn, error) {
	c := NewConn(nc)
	c.Timeout = 10 * time.Second
	var h Hello
	if err := c.Recv(&h); err != nil {
		return nil, fmt.Errorf("read greeting: %w", err)
	}
	c.Timeout = 0
	if h.Service != service || h.Version != version {
		st := dsn.Temp("4.3.0", "service %s version %d is not served here (this is %s version %d)", h.Service, h.Version, service, version)
		c.Send(Reply{Status: st}) //nolint:errcheck // the error below is what matters
		return nil, fmt.Errorf("%w: client asked for %s v%d", ErrProtocol, h.Service, h.Version)
	}
	if err := c.Send(Reply{}); err != nil {
		return nil, fmt.Errorf("welcome client: %w", err)
	}
	return c, nil
}
