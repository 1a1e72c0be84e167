package qmgr

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"strings"

	"github.com/postern-mta/postern/internal/addr"
	"github.com/postern-mta/postern/internal/daemon"
	"github.com/postern-mta/postern/internal/dsn"
	"github.com/postern-mta/postern/internal/proto"
	"github.com/postern-mta/postern/queue"
)

// qmgr listens on public/qmgr for wake-ups (cleanup, after each new
// message) and flush requests (postqueue -f, -s, -i; smtpd's ETRN;
// sendmail -q). A flush makes deferred messages due now, lifts every
// destination suspension, lets the flushed messages through
// defer_transports once, and answers how many messages it made due.

// flushRequest asks the event loop to take flushed messages.
type flushRequest struct {
	ids  []string
	all  bool // lift suspensions and transport unavailability
	done chan struct{}
}

// serveControl answers control requests until ctx ends.
func (q *qmgr) serveControl(ctx context.Context, lns []net.Listener) error {
	return daemon.ServeConns(ctx, lns, 0, q.cfg.StopTimeout, q.handleControl)
}

func (q *qmgr) handleControl(ctx context.Context, dc *daemon.Conn) {
	c, err := proto.Accept(dc, proto.ServiceQmgr, proto.VersionQmgr)
	if err != nil {
		q.log.Warning("control connection: %v", err)
		return
	}
	c.Timeout = q.cfg.IPCTimeout
	for {
		dc.SetIdle(true)
		var req proto.ControlRequest
		err := c.Recv(&req)
		dc.SetIdle(false)
		if err != nil {
			// A client may keep its connection for the next request
			// (cleanup does); one that stays quiet for the IPC timeout
			// is closed without a word.
			quiet := errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || errors.Is(err, os.ErrDeadlineExceeded)
			if !quiet && ctx.Err() == nil {
				q.log.Warning("read control request: %v", err)
			}
			return
		}
		rep := q.control(ctx, &req)
		if err := c.Send(rep); err != nil {
			return
		}
	}
}

// control carries out one control request.
func (q *qmgr) control(ctx context.Context, req *proto.ControlRequest) *proto.ControlReply {
	var (
		ids []string
		all bool
		st  *dsn.Status
	)
	switch req.Op {
	case proto.OpWakeup:
		q.nudge()
		return &proto.ControlReply{}
	case proto.OpFlush:
		all = true
		ids = q.makeDue(func(string, string) bool { return true })
	case proto.OpFlushSite:
		ids, st = q.flushSite(ctx, req.Site)
	case proto.OpFlushID:
		if !queue.ValidID(req.ID) {
			st = &dsn.Status{Code: 501, Enhanced: "5.5.4", Text: "invalid queue ID: " + req.ID}
			break
		}
		ids = q.makeDue(func(id, _ string) bool { return id == req.ID })
	default:
		st = &dsn.Status{Code: 502, Enhanced: "5.5.1", Text: "unknown request: " + req.Op}
	}
	if st != nil {
		return &proto.ControlReply{Reply: proto.Reply{Status: st}}
	}
	f := &flushRequest{ids: ids, all: all, done: make(chan struct{})}
	select {
	case q.controls <- f:
		<-f.done
	case <-ctx.Done():
	}
	return &proto.ControlReply{Count: len(ids)}
}

// maxSite is the longest site name a flush request may give: a domain
// name or an address literal.
const maxSite = 255

// flushSite makes due the deferred messages with a recipient at site,
// when site is in fast_flush_domains.
func (q *qmgr) flushSite(ctx context.Context, site string) ([]string, *dsn.Status) {
	site = strings.ToLower(strings.TrimSuffix(site, "."))
	if len(site) > maxSite {
		return nil, &dsn.Status{Code: 501, Enhanced: "5.5.4", Text: "site name too long"}
	}
	ok, err := q.cfg.FastFlushDomains.Match(ctx, site)
	if err != nil {
		return nil, &dsn.Status{Code: 451, Enhanced: "4.3.0", Text: "<" + site + ">: temporary lookup failure"}
	}
	if !ok || site == "" {
		return nil, &dsn.Status{Code: 459, Text: "<" + site + ">: service unavailable"}
	}
	return q.makeDue(func(_, path string) bool {
		env, _, err := queue.ReadEnvelope(path)
		if err != nil {
			return false
		}
		for _, r := range env.Recipients {
			if !r.Done && addr.Domain(r.Addr) == site {
				return true
			}
		}
		return false
	}), nil
}

// makeDue sets the next try time of the matching deferred messages to
// now, so that the next deferred scan takes them, and returns their IDs.
func (q *qmgr) makeDue(match func(id, path string) bool) []string {
	var ids []string
	now := q.now()
	err := q.layout.Walk(queue.Deferred, func(id, path string) error {
		if !match(id, path) {
			return nil
		}
		if err := q.layout.SetNextTry(path, now); err != nil {
			if !errors.Is(err, os.ErrNotExist) {
				q.log.Warning("%s: %v", id, err)
			}
			return nil
		}
		ids = append(ids, id)
		return nil
	})
	if err != nil {
		q.log.Warning("%v", err)
	}
	return ids
}

// flush takes a flush in the event loop.
func (q *qmgr) flush(f *flushRequest) {
	if len(q.flushed) > 100000 {
		clear(q.flushed) // IDs of messages deleted before they came back
	}
	for _, id := range f.ids {
		q.flushed[id] = true
	}
	if f.all {
		q.sched.Flush()
	}
	q.wantIncoming, q.wantDeferred = true, true
	q.nextDeferredScan = q.now()
	close(f.done)
}
