package bounce

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"sync"
	"syscall"

	"github.com/postern-mta/postern/internal/dsn"
	"github.com/postern-mta/postern/internal/proto"
)

// maxIdleCleanup is how many idle connections to cleanup are kept for
// the next report.
const maxIdleCleanup = 2

// cleanupPool keeps connections to the cleanup service open between
// reports.
type cleanupPool struct {
	paths []string // the sockets to try, in order
	mu    sync.Mutex
	idle  []*proto.CleanupClient
}

func (p *cleanupPool) get(ctx context.Context) (c *proto.CleanupClient, reused bool, err error) {
	p.mu.Lock()
	if n := len(p.idle); n > 0 {
		c = p.idle[n-1]
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		return c, true, nil
	}
	p.mu.Unlock()
	err = errors.New("no cleanup socket configured")
	for i, path := range p.paths {
		cc, derr := proto.DialCleanup(ctx, path)
		if derr == nil {
			return cc, false, nil
		}
		if i == 0 {
			err = derr // the usual place says most about what is wrong
		}
		if !errors.Is(derr, fs.ErrNotExist) && !errors.Is(derr, syscall.ECONNREFUSED) {
			return nil, false, derr
		}
	}
	return nil, false, err
}

func (p *cleanupPool) put(c *proto.CleanupClient) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.idle) < maxIdleCleanup {
		p.idle = append(p.idle, c)
		return
	}
	c.Close()
}

func (p *cleanupPool) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.idle {
		c.Close()
	}
	p.idle = nil
}

// submit sends report r from envelope sender to rcpt through cleanup and
// returns the new queue ID. The report's Message-Id is made from that
// ID, as cleanup would. Any error means nothing was queued (or, if
// cleanup failed after storing it, that a duplicate may follow): the
// caller keeps the log and answers a temporary failure.
func (s *server) submit(ctx context.Context, sender, rcpt string, r *report) (string, error) {
	for attempt := 0; ; attempt++ {
		c, reused, err := s.pool.get(ctx)
		if err != nil {
			return "", err
		}
		id, opened, err := s.submitOn(ctx, c, sender, rcpt, r)
		var st *dsn.Status
		switch {
		case err == nil:
			s.pool.put(c)
			return id, nil
		case errors.As(err, &st):
			// cleanup refused: the connection is still in step.
			s.pool.put(c)
			return "", err
		}
		c.Close()
		// An idle connection may have been closed by a cleanup that
		// restarted since; if it failed before the message was
		// opened, nothing was queued and a new connection may try.
		if !reused || opened || attempt > 0 {
			return "", err
		}
	}
}

func (s *server) submitOn(ctx context.Context, c *proto.CleanupClient, sender, rcpt string, r *report) (id string, opened bool, err error) {
	enc := "7bit"
	if r.eightBit() || r.origEightBit() {
		enc = "8bit"
	}
	open := &proto.CleanupOpen{
		Source:     "bounce",
		Flags:      proto.CleanupNoChecks,
		Sender:     sender,
		Recipients: []proto.Rcpt{{Addr: rcpt}},
		Attrs: []proto.Attr{
			{Name: proto.AttrRewriteContext, Value: "local"},
			{Name: proto.AttrEncoding, Value: enc},
		},
	}
	sub, err := c.Open(ctx, open)
	if err != nil {
		return "", false, err
	}
	r.messageID = sub.ID + "@" + s.cfg.MyHostname
	w := bufio.NewWriterSize(sub, 32<<10)
	if err := r.writeTo(w); err != nil {
		return "", true, fmt.Errorf("send report to cleanup: %w", err)
	}
	if err := w.Flush(); err != nil {
		return "", true, fmt.Errorf("send report to cleanup: %w", err)
	}
	res, err := sub.Finish(ctx)
	if err != nil {
		return "", true, err
	}
	return res.QueueID, true, nil
}
