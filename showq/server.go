package showq

import (
	"context"
	"errors"
	"io"
	"net"

	"github.com/postern-mta/postern/internal/daemon"
	"github.com/postern-mta/postern/internal/maillog"
	"github.com/postern-mta/postern/internal/proto"
	"github.com/postern-mta/postern/mailq"
)

// Server answers listing requests.
type Server struct {
	cfg Config
	log *maillog.Logger
}

// NewServer returns a server of listings of the queue cfg names.
func NewServer(cfg Config, log *maillog.Logger) *Server {
	return &Server{cfg: cfg, log: log}
}

// Handle serves one client connection: any number of requests, each
// answered by one item per message and a final Done (or Error) item.
func (s *Server) Handle(ctx context.Context, c *daemon.Conn) {
	pc, err := proto.Accept(c, proto.ServiceShowq, proto.VersionShowq)
	if err != nil {
		s.log.Warning("%v", err)
		return
	}
	pc.Timeout = s.cfg.Timeout
	// A listing under way when the daemon is told to stop is finished
	// (within the stop timeout), not cut short.
	listCtx := context.WithoutCancel(ctx)
	for {
		c.SetIdle(true)
		var req proto.ShowqRequest
		err := pc.Recv(&req)
		c.SetIdle(false)
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				s.log.Warning("read request: %v", err)
			}
			return
		}
		if err := s.list(listCtx, pc, &req); err != nil {
			s.log.Warning("send listing: %v", err)
			return
		}
	}
}

// list streams one listing. An error is a failure to talk to the client;
// a failure to read the queue is reported to the client.
func (s *Server) list(ctx context.Context, pc *proto.Conn, req *proto.ShowqRequest) error {
	var sendErr error
	opt := mailq.Options{
		Queues:      req.Queues,
		EmptySender: s.cfg.EmptySender,
		Warn:        func(msg string) { s.log.Warning("%s", msg) },
	}
	err := mailq.Scan(ctx, s.cfg.Layout, opt, func(e *proto.QueueEntry) error {
		// Queue, not Send: the buffer goes out when it fills and at the
		// end, not once per message.
		sendErr = pc.Queue(proto.ShowqItem{Entry: e})
		return sendErr
	})
	if sendErr != nil {
		return sendErr
	}
	if err != nil {
		s.log.Warning("%v", err)
		return pc.Send(proto.ShowqItem{Error: err.Error()})
	}
	return pc.Send(proto.ShowqItem{Done: true})
}
