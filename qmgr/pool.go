package qmgr

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

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
// idle one that is still open, or a new one.
func (p *connPool) get(ctx context.Context, path, service string, version int) (*proto.Conn, error) {
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
		if now.Sub(ic.since) < p.maxIdle && alive(ic.c.NetConn()) {
			return ic.c, nil
		}
		ic.c.Close()
	}
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

// alive reports whether an idle connection is still open: the peer has
// not closed it (a daemon stopping or restarting closes its idle
// connections) and has sent nothing unasked. It peeks without blocking, so
// a dead connection is found before a request is lost on it.
func alive(nc net.Conn) bool {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return true
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	var perr error
	err = rc.Read(func(fd uintptr) bool {
		var b [1]byte
		_, _, perr = unix.Recvfrom(int(fd), b[:], unix.MSG_PEEK|unix.MSG_DONTWAIT)
		return true
	})
	// Nothing to read is the only good answer: a read of 0 bytes is the
	// peer's close, a byte is a peer speaking out of turn.
	return err == nil && errors.Is(perr, unix.EAGAIN)
}
