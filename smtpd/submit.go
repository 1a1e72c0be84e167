package smtpd

import (
	"context"
	"errors"
	"sync"

	"github.com/postern-mta/postern/internal/dsn"
	"github.com/postern-mta/postern/internal/proto"
)

// Submitter hands messages on: to cleanup over private/cleanup, or, in
// "sendmail -bs" mode, to the postdrop program.
type Submitter interface {
	// Open starts a message. A refusal is a *dsn.Status error; any other
	// error means the service could not be reached.
	Open(ctx context.Context, o *proto.CleanupOpen) (Submission, error)
}

// Submission is one message being handed on.
type Submission interface {
	// ID is the queue ID, "" when not known until the end.
	ID() string
	Write(p []byte) (int, error)
	// Finish ends the content and waits until the message is safe on
	// disk; a refusal is a *dsn.Status error.
	Finish(ctx context.Context) (*proto.CleanupResult, error)
	// Abort drops the message: nothing is queued.
	Abort()
}

// cleanupPool submits to cleanup over a few kept-open connections.
type cleanupPool struct {
	paths []string // tried in order: public/cleanup, then private/cleanup
	max   int

	mu   sync.Mutex
	idle []*proto.CleanupClient
}

func newCleanupPool(paths []string, max int) *cleanupPool {
	return &cleanupPool{paths: paths, max: max}
}

// dial connects to the first cleanup socket that answers.
func (p *cleanupPool) dial(ctx context.Context) (*proto.CleanupClient, error) {
	var err error
	for _, path := range p.paths {
		var cl *proto.CleanupClient
		if cl, err = proto.DialCleanup(ctx, path); err == nil {
			return cl, nil
		}
	}
	return nil, err
}

func (p *cleanupPool) get(ctx context.Context) (*proto.CleanupClient, bool, error) {
	p.mu.Lock()
	if n := len(p.idle); n > 0 {
		cl := p.idle[n-1]
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		return cl, true, nil
	}
	p.mu.Unlock()
	cl, err := p.dial(ctx)
	return cl, false, err
}

func (p *cleanupPool) put(cl *proto.CleanupClient) {
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

// drain closes every idle connection: after one turned out broken, the
// others (from before a cleanup restart) are likely broken too.
func (p *cleanupPool) drain() {
	p.mu.Lock()
	idle := p.idle
	p.idle = nil
	p.mu.Unlock()
	for _, cl := range idle {
		cl.Close()
	}
}

// Close closes the idle connections.
func (p *cleanupPool) Close() { p.drain() }

func (p *cleanupPool) Open(ctx context.Context, o *proto.CleanupOpen) (Submission, error) {
	for {
		cl, pooled, err := p.get(ctx)
		if err != nil {
			return nil, err
		}
		sub, err := cl.Open(ctx, o)
		if err == nil {
			return &cleanupSub{pool: p, cl: cl, sub: sub}, nil
		}
		var st *dsn.Status
		if errors.As(err, &st) {
			p.put(cl)
			return nil, st
		}
		cl.Close()
		if !pooled {
			return nil, err
		}
		// A kept connection went stale: redial once.
		p.drain()
	}
}

type cleanupSub struct {
	pool *cleanupPool
	cl   *proto.CleanupClient
	sub  *proto.Submission
	done bool
}

func (s *cleanupSub) ID() string                  { return s.sub.ID }
func (s *cleanupSub) Write(b []byte) (int, error) { return s.sub.Write(b) }

func (s *cleanupSub) Finish(ctx context.Context) (*proto.CleanupResult, error) {
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

// Abort closes the connection without the end frame; cleanup removes
// its temporary file.
func (s *cleanupSub) Abort() {
	if !s.done {
		s.done = true
		s.cl.Close()
	}
}
