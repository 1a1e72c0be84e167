package qmqpd

import (
	"context"
	"errors"
	"sync"

	"github.com/postern-mta/postern/internal/dsn"
	"github.com/postern-mta/postern/internal/proto"
)

// cleanupPool submits messages to cleanup over a few kept connections.
type cleanupPool struct {
	paths []string // public/cleanup, then private/cleanup
	mu    sync.Mutex
	idle  []*proto.CleanupClient
}

const poolMax = 16

func (p *cleanupPool) get(ctx context.Context) (*proto.CleanupClient, bool, error) {
	p.mu.Lock()
	if n := len(p.idle); n > 0 {
		cl := p.idle[n-1]
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		return cl, true, nil
	}
	p.mu.Unlock()
	var cl *proto.CleanupClient
	var err error
	for _, path := range p.paths {
		if cl, err = proto.DialCleanup(ctx, path); err == nil {
			break
		}
	}
	return cl, false, err
}

func (p *cleanupPool) put(cl *proto.CleanupClient) {
	p.mu.Lock()
	if len(p.idle) < poolMax {
		p.idle = append(p.idle, cl)
		cl = nil
	}
	p.mu.Unlock()
	if cl != nil {
		cl.Close()
	}
}

func (p *cleanupPool) drain() {
	p.mu.Lock()
	idle := p.idle
	p.idle = nil
	p.mu.Unlock()
	for _, cl := range idle {
		cl.Close()
	}
}

// Submit opens the message, writes what build returns (the Received:
// header, made once the queue ID is known) and the content, and waits
// for cleanup's verdict. A stale kept connection is redialed once.
func (p *cleanupPool) Submit(ctx context.Context, o *proto.CleanupOpen, build func(string) []byte, content []byte) (string, error) {
	for {
		cl, pooled, err := p.get(ctx)
		if err != nil {
			return "", err
		}
		sub, err := cl.Open(ctx, o)
		var st *dsn.Status
		switch {
		case err == nil:
		case errors.As(err, &st):
			p.put(cl)
			return "", st
		default:
			cl.Close()
			if !pooled {
				return "", err
			}
			p.drain()
			continue
		}
		_, err = sub.Write(build(sub.ID))
		if err == nil {
			_, err = sub.Write(content)
		}
		if err != nil {
			cl.Close()
			return "", err
		}
		res, err := sub.Finish(ctx)
		if err == nil || errors.As(err, &st) {
			p.put(cl)
		} else {
			cl.Close()
		}
		if err != nil {
			return "", err
		}
		if res.QueueID != "" {
			return res.QueueID, nil
		}
		return sub.ID, nil
	}
}
