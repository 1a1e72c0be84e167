package cleanup

import (
	"context"
	"fmt"
	"time"

	"github.com/postern-mta/postern/internal/proto"
)

// nudger wakes qmgr after a message is queued, without ever making the
// client wait: at most one wake-up is on its way and one more waits; the
// rest are the same news. A lost wake-up costs one qmgr scan interval.
// The connection to qmgr is kept between wake-ups.
type nudger struct {
	ch   chan struct{}
	path string
	conn *proto.Conn // used by run only
}

func newNudger(path string) *nudger {
	return &nudger{ch: make(chan struct{}, 1), path: path}
}

func (n *nudger) nudge() {
	select {
	case n.ch <- struct{}{}:
	default:
	}
}

// run sends the wake-ups until ctx ends.
func (n *nudger) run(ctx context.Context) {
	defer func() {
		if n.conn != nil {
			n.conn.Close()
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case <-n.ch:
			n.send()
		}
	}
}

// send sends one wake-up, dialing (again) when needed. Failure is fine:
// qmgr also scans on its own.
func (n *nudger) send() {
	for attempt := 0; attempt < 2; attempt++ {
		if n.conn == nil {
			ctx, cancel := context.WithTimeout(context.Background(), nudgeTimeout)
			c, err := proto.Dial(ctx, n.path, proto.ServiceQmgr, proto.VersionQmgr)
			cancel()
			if err != nil {
				return
			}
			c.Timeout = nudgeTimeout
			n.conn = c
		}
		if err := n.conn.Send(proto.ControlRequest{Op: proto.OpWakeup}); err == nil {
			var r proto.ControlReply
			if err := n.conn.Recv(&r); err == nil {
				return
			}
		}
		n.conn.Close() // a kept connection qmgr closed: dial once more
		n.conn = nil
	}
}

// nudgeTimeout bounds one wake-up.
const nudgeTimeout = 2 * time.Second

// bouncer asks the bounce service for a non-delivery report.
type bouncer interface {
	Bounce(ctx context.Context, q, id string, entries []proto.LogEntry) error
}

// bounceService is the bounce daemon at a socket path.
type bounceService struct {
	path    string
	timeout time.Duration
}

func (b bounceService) Bounce(ctx context.Context, q, id string, entries []proto.LogEntry) error {
	ctx, cancel := context.WithTimeout(ctx, b.timeout)
	defer cancel()
	cl, err := proto.DialBounce(ctx, b.path)
	if err != nil {
		return err
	}
	defer cl.Close()
	if _, err := cl.Call(ctx, &proto.BounceRequest{Op: proto.BounceOpAppend, Log: proto.LogBounce, Queue: q, QueueID: id, Entries: entries}); err != nil {
		return fmt.Errorf("append to the bounce log: %w", err)
	}
	if _, err := cl.Call(ctx, &proto.BounceRequest{Op: proto.BounceOpNotify, Report: proto.ReportBounce, Queue: q, QueueID: id}); err != nil {
		return fmt.Errorf("send the report: %w", err)
	}
	return nil
}
