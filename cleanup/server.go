package cleanup

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"runtime/debug"
	"sync"
	"time"

	"github.com/postern-mta/postern/internal/daemon"
	"github.com/postern-mta/postern/internal/maillog"
	"github.com/postern-mta/postern/internal/proto"
	"github.com/postern-mta/postern/queue"
)

// Cleanup is the cleanup service: it takes messages over the cleanup
// protocol and queues them.
type Cleanup struct {
	cfg     *Config
	rw      *rewriter
	log     *maillog.Logger
	layout  *queue.Layout
	nudger  *nudger
	bouncer bouncer
}

// New returns the service for cfg; log receives its mail log lines.
func New(cfg *Config, log *maillog.Logger) *Cleanup {
	return &Cleanup{
		cfg:     cfg,
		rw:      &rewriter{cfg: cfg},
		log:     log,
		layout:  queue.NewLayout(cfg.QueueDir, cfg.HashQueueNames, cfg.HashQueueDepth),
		nudger:  newNudger(proto.PublicPath(cfg.QueueDir, cfg.QmgrService)),
		bouncer: bounceService{path: proto.PrivatePath(cfg.QueueDir, cfg.BounceService), timeout: 100 * time.Second},
	}
}

// readers keeps the 64 KiB content buffers of connections that ended.
var readers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 64<<10) }}

// ServeConn serves one client connection until the client hangs up or
// ctx ends.
func (c *Cleanup) ServeConn(ctx context.Context, dc *daemon.Conn) {
	c.serve(ctx, dc, dc.SetIdle)
}

func (c *Cleanup) serve(ctx context.Context, nc net.Conn, setIdle func(bool)) {
	pc, err := proto.Accept(nc, proto.ServiceCleanup, proto.VersionCleanup)
	if err != nil {
		return
	}
	pc.Timeout = c.cfg.IPCTimeout
	srv := &proto.CleanupServer{C: pc}
	br := readers.Get().(*bufio.Reader)
	defer readers.Put(br)
	defer func() {
		if r := recover(); r != nil {
			c.log.Error("panic while serving a client (closing its connection): %v\n%s", r, debug.Stack())
		}
	}()
	for {
		setIdle(true)
		o, err := srv.Next()
		setIdle(false)
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) && ctx.Err() == nil {
				c.log.Warning("read request from client: %v", err)
			}
			return
		}
		if err := c.message(ctx, srv, o, br); err != nil {
			return
		}
	}
}

// message takes one message: an error means the connection is broken
// (the client went away mid-message) and nothing was queued.
func (c *Cleanup) message(ctx context.Context, srv *proto.CleanupServer, o *proto.CleanupOpen, br *bufio.Reader) error {
	m := newMessage(ctx, c, o)
	q, parked := queue.Incoming, false
	switch {
	case o.Queue == queue.Hold || o.Flags&proto.CleanupHold != 0:
		q = queue.Hold
	case o.Flags&proto.CleanupBounceOnReject != 0:
		// A local submission may be bounced, and bounce reads the file:
		// it waits in hold/, out of qmgr's sight, until accepted.
		q, parked = queue.Hold, true
	}
	w, err := c.layout.NewWriter(q)
	if err != nil {
		return srv.Opened(proto.CleanupOpened{Status: c.storageFailed(m, "create queue file", err)})
	}
	defer w.Abort()
	m.id, m.out = w.ID(), w
	m.prepare()
	if m.fail != nil {
		w.Abort()
		return srv.Opened(proto.CleanupOpened{Status: m.fail})
	}
	if err := srv.Opened(proto.CleanupOpened{QueueID: m.id}); err != nil {
		return err
	}
	br.Reset(srv.Content())
	if err := m.readContent(br); err != nil {
		return err
	}
	br.Reset(nil)
	return srv.Done(c.finish(m, w, q, parked))
}
