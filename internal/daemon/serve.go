package daemon

import (
	"context"
	"errors"
	"net"
	"sync"
	"time"
)

// Conn is a client connection served by ServeConns. A handler marks the
// connection idle while it waits for the client's next request, so a
// graceful stop can close idle connections at once and wait only for the
// busy ones.
type Conn struct {
	net.Conn
	srv  *connServer
	mu   sync.Mutex
	idle bool
	// fresh: the handler has not said yet whether the connection is busy
	// or idle. A graceful stop leaves it to the handler (SetIdle closes
	// it then if idle) rather than drop a client that just connected.
	fresh bool
	// closed: a graceful stop closed it while it was idle.
	closed bool
}

// SetIdle marks the connection idle (waiting for a request) or busy. When
// the daemon is stopping, marking it idle closes it: the handler's next read
// fails and it returns.
func (c *Conn) SetIdle(idle bool) {
	c.mu.Lock()
	was := c.idle
	c.idle = idle
	c.fresh = false
	c.mu.Unlock()
	switch {
	case was && !idle:
		Busy()
	case !was && idle:
		Done()
	}
	if idle && c.srv.stopping() {
		c.mu.Lock()
		c.closed = true
		c.mu.Unlock()
		c.Conn.Close()
	}
}

// SetBusy marks the connection busy, as SetIdle(false) does, and reports
// whether it is still open. A graceful stop closes idle connections, and
// may do so just after a request arrived: a handler whose request has
// effects (a delivery) must then drop it unanswered — the client sees the
// connection end and tries again later — rather than act on it with no
// way to say so, which would make the client try again what was done.
func (c *Conn) SetBusy() bool {
	c.mu.Lock()
	was := c.idle
	c.idle = false
	c.fresh = false
	open := !c.closed
	c.mu.Unlock()
	if was {
		Busy()
	}
	return open
}

type connServer struct {
	mu    sync.Mutex
	conns map[*Conn]struct{}
	stop  bool
}

func (s *connServer) stopping() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stop
}

// closeIdle marks the server stopping and closes every idle connection.
func (s *connServer) closeIdle() {
	s.mu.Lock()
	s.stop = true
	conns := make([]*Conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.mu.Lock()
		idle := c.idle && !c.fresh
		if idle {
			c.closed = true
		}
		c.mu.Unlock()
		if idle {
			c.Conn.Close()
		}
	}
}

func (s *connServer) closeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		c.Conn.Close()
	}
}

// ServeConns accepts connections on every listener and runs handle for
// each in its own goroutine, at most maxProc at once (0: no limit; further
// clients wait in the kernel's backlog, as with Postfix's process limit).
// Connections start idle. When ctx ends it stops accepting, closes idle
// connections, waits up to grace for busy ones, then closes the rest and
// waits for their handlers to return. A connection whose handler has not
// called SetIdle yet is not closed under it: a client that connected just
// before the stop (an SMTP client during a reload) is served.
func ServeConns(ctx context.Context, lns []net.Listener, maxProc int, grace time.Duration, handle func(ctx context.Context, c *Conn)) error {
	srv := &connServer{conns: make(map[*Conn]struct{})}
	var sem chan struct{}
	if maxProc > 0 {
		sem = make(chan struct{}, maxProc)
	}
	var wg sync.WaitGroup
	errc := make(chan error, len(lns))
	for _, ln := range lns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errc <- acceptLoop(ctx, ln, sem, srv, &wg, handle)
		}()
	}
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	for _, ln := range lns {
		ln.Close()
	}
	srv.closeIdle()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(grace):
		srv.closeAll()
		<-done
	}
	return err
}

func acceptLoop(ctx context.Context, ln net.Listener, sem chan struct{}, srv *connServer, wg *sync.WaitGroup, handle func(context.Context, *Conn)) error {
	var delay time.Duration
	for {
		if sem != nil {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return nil
			}
		}
		nc, err := ln.Accept()
		if err != nil {
			if sem != nil {
				<-sem
			}
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			// Out of descriptors and the like: back off, as net/http does.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			select {
			case <-time.After(delay):
			case <-ctx.Done():
				return nil
			}
			continue
		}
		delay = 0
		// A connection accepted is a client served, even when the stop
		// began meanwhile: its handler closes it at its first SetIdle(true)
		// if it has nothing to do.
		c := &Conn{Conn: nc, srv: srv, idle: true, fresh: true}
		srv.mu.Lock()
		srv.conns[c] = struct{}{}
		srv.mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				srv.mu.Lock()
				delete(srv.conns, c)
				srv.mu.Unlock()
				c.SetIdle(true)
				nc.Close()
				if sem != nil {
					<-sem
				}
			}()
			handle(ctx, c)
		}()
	}
}
