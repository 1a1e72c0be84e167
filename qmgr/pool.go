package qmgr

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/postern-mta/postern/internal/proto"
)

// connPool keeps idle connections to other daemons (delivery agents,
// bounce) by socket path, so that a delivery costs one request and one
// reply, not a connect and a greeting as well.
type connPool struct {
	mu          sync.Mutex
	idle        map[string][]idleConn
	maxIdle     time.Duration // an idle connection older than this is closed
	maxPerPath  int
	dialTimeout time.Duration
	now         func() time.Time
}

type idleConn struct {
	c     *proto.Conn
	since time.Time
}

func newConnPool(dialTimeout time.Duration, now func() time.Time) *connPool {
	return &connPool{
		idle:        make(map[string][]idleConn),
		maxIdle:     30 * time.Second,
		maxPerPath:  512,
		dialTimeout: dialTimeout,
		now:         now,
	}
}

// get returns a connection to the service at path: the most recently used
// idle one, or a new one. reused says which.
func (p *connPool) get(ctx context.Context, path, service string, version int) (c *proto.Conn, reused bool, err error) {
	now := p.now()
	for {
		p.mu.Lock()
		list := p.idle[path]
		if len(list) == 0 {
			p.mu.Unlock()
			break
		}
		ic := list[len(list)-1]
		p.idle[path] = list[:len(list)-1]
		p.mu.Unlock()
		if now.Sub(ic.since) < p.maxIdle {
			return ic.c, true, nil
		}
		ic.c.Close()
	}
	c, err = p.dial(ctx, path, service, version)
	return c, false, err
}

// dial makes a new connection to the service at path.
func (p *connPool) dial(ctx context.Context, path, service string, version int) (*proto.Conn, error) {
	dctx, cancel := context.WithTimeout(ctx, p.dialTimeout)
	defer cancel()
	// A daemon that dies (a crash, an idle exit) may take connections
	// waiting in its listen queue with it: they are reset during the
	// greeting. Master starts another at once, so try again a couple of
	// times before calling the service unavailable.
	var err error
	for try, pause := 0, 50*time.Millisecond; ; try, pause = try+1, 4*pause {
		var c *proto.Conn
		c, err = proto.Dial(dctx, path, service, version)
		if err == nil || try == 2 || !droppedInGreeting(err) {
			return c, err
		}
		select {
		case <-time.After(pause):
		case <-dctx.Done():
			return nil, err
		}
	}
}

// call sends req to the service at path over a pooled connection and
// reads the answer into rep, each step within timeout (and ctx). It
// returns the connection, for the caller to put back once it has checked
// the answer, or close. A failure to connect is a *connectError, a
// failure after that an *exchangeError.
//
// An idle connection may have been closed by the service (a daemon that
// stops, restarts or exits when idle closes its idle connections). A
// request on such a connection fails before the service has read it: the
// write finds the connection closed (EPIPE), or the read finds it reset
// (ECONNRESET: the service closed it with the request unread). Only then
// is the request sent again, once, on a new connection. This costs
// nothing when the connection is good, unlike asking the socket before
// each request whether it is still open (a recv with MSG_PEEK), and it
// also covers a close between that question and the request. Any other
// failure is not retried: a service that has read a request may have
// acted on it (a delivery made, a log record appended), and sending it
// again would do it twice.
func (p *connPool) call(ctx context.Context, path, service string, version int, timeout time.Duration, req, rep any) (*proto.Conn, error) {
	c, reused, err := p.get(ctx, path, service, version)
	if err != nil {
		return nil, &connectError{err}
	}
	err = exchange(ctx, c, timeout, req, rep)
	if err != nil && reused && unread(err) {
		c.Close()
		if c, err = p.dial(ctx, path, service, version); err != nil {
			return nil, &connectError{err}
		}
		err = exchange(ctx, c, timeout, req, rep)
	}
	if err != nil {
		c.Close()
		return nil, err
	}
	c.WithContext(context.Background())
	return c, nil
}

// exchange sends req on c and reads the answer into rep.
func exchange(ctx context.Context, c *proto.Conn, timeout time.Duration, req, rep any) error {
	c.WithContext(ctx)
	c.Timeout = timeout
	if err := c.Send(req); err != nil {
		return &exchangeError{send: true, err: err}
	}
	if err := c.Recv(rep); err != nil {
		return &exchangeError{err: err}
	}
	return nil
}

// unread reports whether a failed exchange certainly left the request
// unread by the service: the connection was closed before the request
// was written, or closed by the service with the request still queued.
func unread(err error) bool {
	var xe *exchangeError
	if !errors.As(err, &xe) {
		return false
	}
	if xe.send {
		return errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, net.ErrClosed)
	}
	return errors.Is(err, syscall.ECONNRESET)
}

// connectError is a failure to reach a service at all.
type connectError struct{ err error }

func (e *connectError) Error() string { return e.err.Error() }
func (e *connectError) Unwrap() error { return e.err }

// exchangeError is a failure on an established connection, in sending
// the request or in reading the answer.
type exchangeError struct {
	send bool
	err  error
}

func (e *exchangeError) Error() string { return e.err.Error() }
func (e *exchangeError) Unwrap() error { return e.err }

// droppedInGreeting reports whether a dial failed because the peer went
// away after the connection was made, rather than no one listening.
func droppedInGreeting(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.EPIPE)
}

// put gives back a connection whose last exchange went well.
func (p *connPool) put(path string, c *proto.Conn) {
	now := p.now()
	p.mu.Lock()
	list := p.idle[path]
	// The oldest are first: close those idle too long.
	n := 0
	for n < len(list) && now.Sub(list[n].since) >= p.maxIdle {
		list[n].c.Close()
		n++
	}
	if n > 0 {
		list = append(list[:0], list[n:]...)
	}
	if len(list) >= p.maxPerPath {
		p.mu.Unlock()
		c.Close()
		return
	}
	p.idle[path] = append(list, idleConn{c: c, since: now})
	p.mu.Unlock()
}

// closeAll closes every idle connection.
func (p *connPool) closeAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for path, list := range p.idle {
		for _, ic := range list {
			ic.c.Close()
		}
		delete(p.idle, path)
	}
}
