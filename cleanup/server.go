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
	// reserved is the queue file made for the client's next message
	// (proto.CleanupOpen.Reserve); unnamed, it vanishes when closed.
	var reserved *queue.Writer
	defer func() {
		if reserved != nil {
			reserved.Abort()
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
		var w *queue.Writer
		switch {
		case o.Reserved != "" && (reserved == nil || reserved.ID() != o.Reserved || !o.Reservable()):
			c.log.Warning("client sent a message for queue file %.40q, which is not reserved for it", o.Reserved)
			return
		case o.Reserved != "":
			w = reserved
		case reserved != nil:
			reserved.Abort()
		}
		reserved = nil
		next, err := c.message(ctx, srv, o, w, br)
		if err != nil {
			return
		}
		reserved = next
	}
}

// message takes one message: an error means the connection is broken
// (the client went away mid-message) and nothing was queued.
//
// w, when not nil, is the file reserved for this message: no
// CleanupOpened is sent, a refusal waits for the content and comes in the
// CleanupResult. When the client asks, the file for its next message is
// made before the answer and returned.
func (c *Cleanup) message(ctx context.Context, srv *proto.CleanupServer, o *proto.CleanupOpen, w *queue.Writer, br *bufio.Reader) (*queue.Writer, error) {
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
	// The next message's file is made while this one is read and
	// stored, off the way of this one's answer; it is dropped unless it
	// reaches the client.
	next := c.makeNext(o.Reserve)
	handed := false
	defer func() {
		if nw := next(); nw != nil && !handed {
			nw.Abort()
		}
	}()
	reserved := w != nil
	if reserved {
		if m.arrival.IsZero() {
			m.arrival = time.Now() // not when the file was made
		}
	} else {
		var err error
		if w, err = c.layout.NewWriter(q); err != nil {
			return nil, srv.Opened(proto.CleanupOpened{Status: c.storageFailed(m, "create queue file", err)})
		}
	}
	defer w.Abort()
	m.id, m.out = w.ID(), w
	m.prepare()
	if !reserved {
		if m.fail != nil {
			w.Abort()
			return nil, srv.Opened(proto.CleanupOpened{Status: m.fail})
		}
		if err := srv.Opened(proto.CleanupOpened{QueueID: m.id}); err != nil {
			return nil, err
		}
	}
	br.Reset(srv.Content())
	if err := m.readContent(br); err != nil {
		return nil, err
	}
	br.Reset(nil)
	res := c.finish(m, w, q, parked)
	nw := next()
	if nw != nil {
		res.Next = nw.ID()
	}
	c.log.Flush() // before the client logs what it heard
	if err := srv.Done(res); err != nil {
		return nil, err
	}
	handed = true
	return nw, nil
}

// makeNext starts making the file of a client's next message when it asked
// for one; the function returned waits for it (nil: none, or it could not
// be made — no news for this message: the next one opens its own).
func (c *Cleanup) makeNext(want bool) func() *queue.Writer {
	if !want {
		return func() *queue.Writer { return nil }
	}
	ch := make(chan *queue.Writer, 1)
	go func() {
		nw, err := c.layout.NewWriter(queue.Incoming)
		if err != nil {
			nw = nil
		}
		ch <- nw
	}()
	return sync.OnceValue(func() *queue.Writer { return <-ch })
}
