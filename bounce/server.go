package bounce

import (
	"context"
	"errors"
	"io"
	"net"
	"strconv"
	"time"

	"github.com/postern-mta/postern/internal/daemon"
	"github.com/postern-mta/postern/internal/dsn"
	"github.com/postern-mta/postern/internal/maillog"
	"github.com/postern-mta/postern/internal/proto"
	"github.com/postern-mta/postern/queue"
)

// server answers bounce requests.
type server struct {
	cfg  Config
	log  *maillog.Logger
	pool *proto.CleanupPool
}

func newServer(c Config, log *maillog.Logger) *server {
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Location == nil {
		c.Location = time.Local
	}
	if c.Timeout <= 0 {
		c.Timeout = proto.DefaultTimeout
	}
	return &server{cfg: c, log: log, pool: proto.NewCleanupPool(maxIdleCleanup, c.CleanupPaths...)}
}

func (s *server) close() { s.pool.Close() }

// handle serves one client (qmgr, cleanup, an agent): requests one after
// the other until it hangs up.
func (s *server) handle(ctx context.Context, dc *daemon.Conn) {
	c, err := proto.Accept(dc, proto.ServiceBounce, proto.VersionBounce)
	if err != nil {
		s.log.Warning("%v", err)
		return
	}
	for {
		dc.SetIdle(true)
		c.Timeout = s.cfg.Timeout
		var req proto.BounceRequest
		err := c.Recv(&req)
		dc.SetIdle(false)
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) && ctx.Err() == nil {
				s.log.Warning("read bounce request: %v", err)
			}
			return
		}
		// A request under way is finished even when a stop begins;
		// the stop's grace period bounds it.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.Timeout)
		reply := s.serve(rctx, &req)
		cancel()
		if err := c.Send(reply); err != nil {
			s.log.Warning("%s: send bounce reply: %v", req.QueueID, err)
			return
		}
	}
}

// badRequest answers a request that no retry can fix.
func badRequest(format string, args ...any) *proto.BounceReply {
	return &proto.BounceReply{Status: dsn.New(500, "5.5.4", "invalid bounce request: "+format, args...)}
}

func (s *server) serve(ctx context.Context, req *proto.BounceRequest) *proto.BounceReply {
	if !queue.ValidID(req.QueueID) {
		return badRequest("queue ID %q", req.QueueID)
	}
	switch req.Op {
	case proto.BounceOpAppend:
		return s.append(req)
	case proto.BounceOpNotify:
		return s.notify(ctx, req)
	}
	return badRequest("operation %q", req.Op)
}

// append adds the request's entries to a log, and answers only once they
// are written (and, for the bounce log, fsynced).
func (s *server) append(req *proto.BounceRequest) *proto.BounceReply {
	logQueue, ok := logQueueOf(req.Log)
	if !ok {
		return badRequest("log %q", req.Log)
	}
	now := s.cfg.Now()
	recs := make([]queue.LogRecord, len(req.Entries))
	for i := range req.Entries {
		if req.Entries[i].Recipient == "" {
			return badRequest("entry %d has no recipient", i+1)
		}
		recs[i] = toRecord(&req.Entries[i], now)
	}
	if err := s.cfg.Layout.AppendLog(logQueue, req.QueueID, recs); err != nil {
		s.log.Warning("%s: %v", req.QueueID, err)
		return &proto.BounceReply{Status: dsn.Temp("4.3.0", "cannot write the %s log", logQueue).Wrap(err)}
	}
	return &proto.BounceReply{}
}

// toRecord turns a recipient outcome as agents and qmgr report it into a
// log record. The log keeps the enhanced status code only; the reply
// text is in the reason.
func toRecord(e *proto.LogEntry, now time.Time) queue.LogRecord {
	rec := queue.LogRecord{
		Recipient: e.Recipient,
		Orig:      e.Orig,
		Offset:    e.Offset,
		Action:    e.Action,
		Reason:    e.Reason,
		RemoteMTA: e.RemoteMTA,
		DiagType:  e.DiagType,
		Diag:      e.Diag,
		Time:      e.Time,
	}
	if e.Status != nil {
		rec.Status = e.Status.Enhanced
		if !dsn.IsEnhanced(rec.Status) {
			rec.Status = strconv.Itoa(e.Status.Class()) + ".0.0"
		}
		if rec.Reason == "" {
			rec.Reason = e.Status.Text
		}
	}
	if rec.Time.IsZero() {
		rec.Time = now
	}
	return rec
}
