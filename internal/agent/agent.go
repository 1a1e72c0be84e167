// Package agent is the skeleton every delivery agent shares (local,
// virtual, pipe, smtp/lmtp, discard/error/retry): it serves qmgr's deliver
// protocol on the listeners master hands over and passes each request to
// the agent's own delivery function, so that an agent is only that
// function.
//
// One qmgr connection carries any number of requests, one after the
// other. While a connection waits for its next request it is marked idle,
// so that a graceful stop closes it at once; a delivery under way is not
// cut short when the stop begins, but gets Options.Grace to finish, after
// which its context is cancelled and its connection closed.
//
// The agents also share how an outcome is told: Status, the mail log's
// delivery line (DeliveryLine, with StatusWord) and the per-recipient
// answer to qmgr (Result).
package agent

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"time"

	"github.com/postern-mta/postern/internal/daemon"
	"github.com/postern-mta/postern/internal/maillog"
	"github.com/postern-mta/postern/internal/proto"
)

// DeliverFunc delivers one request and returns the outcome: one result per
// recipient, or a Status for the whole request (the queue file cannot be
// read, say). It must watch ctx: ctx ends Options.Grace after a stop
// begins.
type DeliverFunc func(ctx context.Context, req *proto.DeliverRequest) *proto.DeliverReply

// Options is how an agent serves.
type Options struct {
	// MaxProc bounds the qmgr connections served at once (0: no limit).
	MaxProc int
	// Grace is how long deliveries under way may go on once a stop begins
	// (postern_stop_timeout).
	Grace time.Duration
	// IdleLimit is how long a connection may wait for qmgr's next request
	// (max_idle); 0 is proto.DefaultTimeout.
	IdleLimit time.Duration
	// Log takes the warnings about connections that break.
	Log *maillog.Logger
}

// Serve answers delivery requests on lns until ctx ends, then stops as
// the package comment says and returns when every connection is closed.
func Serve(ctx context.Context, lns []net.Listener, o Options, deliver DeliverFunc) error {
	// Deliveries run under their own context so that the stop does not
	// cancel them at once.
	work, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	stop := context.AfterFunc(ctx, func() { time.AfterFunc(o.Grace, cancel) })
	defer stop()
	return daemon.ServeConns(ctx, lns, o.MaxProc, o.Grace, func(ctx context.Context, c *daemon.Conn) {
		serveConn(ctx, work, c, o, deliver)
	})
}

// serveConn answers one qmgr connection, request after request. stopping
// is the daemon's context, work the deliveries'.
func serveConn(stopping, work context.Context, c *daemon.Conn, o Options, deliver DeliverFunc) {
	pc, err := proto.Accept(c, proto.ServiceDeliver, proto.VersionDeliver)
	if err != nil {
		o.Log.Warning("deliver connection: %v", err)
		return
	}
	for {
		c.SetIdle(true)
		pc.Timeout = o.IdleLimit
		var req proto.DeliverRequest
		err := pc.Recv(&req)
		open := c.SetBusy()
		if err != nil {
			if !hangUp(err) && stopping.Err() == nil {
				o.Log.Warning("read delivery request: %v", err)
			}
			return
		}
		if !open {
			// The stop closed the connection as the request came: qmgr
			// sees it end and tries again; delivering now would make
			// that a second delivery.
			return
		}
		reply := deliver(work, &req)
		// The delivery's lines go out before qmgr hears of it, so the
		// log keeps the order of events: "to=..." before "removed".
		o.Log.Flush()
		pc.Timeout = 0
		if err := pc.Send(reply); err != nil {
			o.Log.Warning("%s: send delivery status: %v", req.QueueID, err)
			return
		}
	}
}

// hangUp reports whether a failed read of the next request is the normal
// end of a connection: qmgr closed it (even in the middle of a frame, as
// when it is killed), left it idle past the limit, or the stop closed it.
func hangUp(err error) bool {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, os.ErrDeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
