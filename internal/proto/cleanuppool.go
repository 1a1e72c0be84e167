package proto

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"sync"
	"syscall"

	"github.com/postern-mta/postern/internal/dsn"
)

// CleanupPool keeps a few connections to the cleanup service open for a
// daemon that submits message after message (smtpd, qmqpd, bounce,
// pickup, local's forwarding), so that a message costs no connection
// setup. It is safe for concurrent use; each submission has a connection
// of its own while it lasts.
//
// A kept connection may have been closed by a cleanup that restarted
// since. Open notices when such a connection fails before cleanup has
// answered the envelope (nothing is queued then), drops it with the other
// idle ones, which are likely as old, and dials once more.
type CleanupPool struct {
	paths []string
	max   int

	mu   sync.Mutex
	idle []*CleanupClient
}

// NewCleanupPool returns a pool that keeps at most maxIdle idle
// connections. It dials the first of paths where cleanup answers: a path
// whose socket is missing or refuses is passed over, and each is tried as
// DialCleanup does (public/ then private/, or the other way round).
func NewCleanupPool(maxIdle int, paths ...string) *CleanupPool {
	return &CleanupPool{paths: paths, max: maxIdle}
}

// dial connects to the first path that answers. The error is the first
// path's, the usual place, which says most about what is wrong.
func (p *CleanupPool) dial(ctx context.Context) (*CleanupClient, error) {
	err := errors.New("no cleanup socket configured")
	for i, path := range p.paths {
		cl, derr := DialCleanup(ctx, path)
		if derr == nil {
			cl.reserve = true
			return cl, nil
		}
		if i == 0 {
			err = derr
		}
		if !errors.Is(derr, fs.ErrNotExist) && !errors.Is(derr, syscall.ECONNREFUSED) {
			return nil, derr
		}
	}
	return nil, err
}

// get returns an idle connection, or a new one; pooled says which.
func (p *CleanupPool) get(ctx context.Context) (cl *CleanupClient, pooled bool, err error) {
	p.mu.Lock()
	if n := len(p.idle); n > 0 {
		cl = p.idle[n-1]
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		return cl, true, nil
	}
	p.mu.Unlock()
	cl, err = p.dial(ctx)
	return cl, false, err
}

// put keeps cl for the next message, or closes it when enough are kept.
func (p *CleanupPool) put(cl *CleanupClient) {
	p.mu.Lock()
	if len(p.idle) < p.max {
		p.idle = append(p.idle, cl)
		cl = nil
	}
	p.mu.Unlock()
	if cl != nil {
		cl.Close()
	}
}

// Close closes the idle connections. The pool may still be used.
func (p *CleanupPool) Close() {
	p.mu.Lock()
	idle := p.idle
	p.idle = nil
	p.mu.Unlock()
	for _, cl := range idle {
		cl.Close()
	}
}

// Open starts a message. A refusal comes back as a *dsn.Status error; any
// other error means cleanup could not be reached (temporary).
func (p *CleanupPool) Open(ctx context.Context, o *CleanupOpen) (*PooledSubmission, error) {
	for retried := false; ; retried = true {
		cl, pooled, err := p.get(ctx)
		if err != nil {
			return nil, err
		}
		if pooled && cl.next != "" && closedByPeer(cl.c.NetConn()) {
			// With a reserved file the envelope goes out unanswered: a
			// connection cleanup has closed (a restart) would only show
			// at the end of the message. Look before using it.
			cl.Close()
			p.Close()
			continue
		}
		sub, err := cl.Open(ctx, o)
		if err == nil {
			return &PooledSubmission{pool: p, cl: cl, sub: sub}, nil
		}
		var st *dsn.Status
		if errors.As(err, &st) {
			p.put(cl) // a refusal leaves the connection in step
			return nil, st
		}
		cl.Close()
		if !pooled || retried {
			return nil, err
		}
		p.Close()
	}
}

// Submit sends a whole message in one call.
func (p *CleanupPool) Submit(ctx context.Context, o *CleanupOpen, content io.Reader) (*CleanupResult, error) {
	s, err := p.Open(ctx, o)
	if err != nil {
		return nil, err
	}
	if _, err := io.Copy(s, content); err != nil {
		s.Abort()
		return nil, fmt.Errorf("send content to cleanup: %w", err)
	}
	return s.Finish(ctx)
}

// PooledSubmission is a message being sent over a pooled connection. It
// ends with Finish or Abort; either gives the connection back (or closes
// it when it is out of step).
type PooledSubmission struct {
	pool *CleanupPool
	cl   *CleanupClient
	sub  *Submission
	done bool
}

// ID is the queue ID cleanup gave the message.
func (s *PooledSubmission) ID() string { return s.sub.ID }

// Write sends content: the message as received (CRLF or LF line ends).
func (s *PooledSubmission) Write(b []byte) (int, error) { return s.sub.Write(b) }

// Finish ends the content and waits for cleanup's verdict, as
// Submission.Finish does.
func (s *PooledSubmission) Finish(ctx context.Context) (*CleanupResult, error) {
	if s.done {
		return nil, errors.New("cleanup submission already ended")
	}
	s.done = true
	res, err := s.sub.Finish(ctx)
	var st *dsn.Status
	if err == nil || errors.As(err, &st) {
		s.pool.put(s.cl)
	} else {
		s.cl.Close()
	}
	return res, err
}

// Abort drops the message: the connection is closed without the end
// frame, so cleanup removes what it has written. Nothing happens after
// Finish.
func (s *PooledSubmission) Abort() {
	if !s.done {
		s.done = true
		s.cl.Close()
	}
}
