package qmgr

import (
	"context"
	"slices"
	"sync/atomic"
	"time"

	"github.com/postern-mta/postern/internal/maillog"
	"github.com/postern-mta/postern/internal/resolve"
	"github.com/postern-mta/postern/queue"
)

// qmgr is the queue manager's state. One goroutine, the event loop (run),
// owns the scheduler and the table of active messages; scans, deliveries
// and the end of messages run in goroutines of their own and report back
// over channels, so the loop never waits for a disk or another daemon.
type qmgr struct {
	cfg      Config
	log      *maillog.Logger
	layout   *queue.Layout
	resolver *resolve.Resolver
	sched    *Sched
	pool     *connPool
	now      func() time.Time

	// Written by goroutines, read by the loop.
	reports   chan *report
	finished  chan *message
	activated chan scanItem // messages a scan activated, then its end
	wake      chan struct{}
	controls  chan *flushRequest

	// Owned by the loop.
	msgs             map[string]*message
	inflight         int // deliveries and deferrals under way
	finishing        int
	scanning         bool
	wantIncoming     bool
	wantDeferred     bool
	backlog          bool // a scan stopped at the active limit: files are waiting
	nextDeferredScan time.Time
	flushed          map[string]bool // flushed IDs not yet activated
	recovered        map[string]bool // IDs found in active at start; read-only once scans run
	stopping         bool
	ioCtx            context.Context // for I/O that must finish even while stopping
	rounds           atomic.Int64    // turns of the event loop, for tests
}

func newQmgr(cfg Config, log *maillog.Logger) *qmgr {
	now := time.Now
	return &qmgr{
		cfg:       cfg,
		log:       log,
		layout:    queue.NewLayout(cfg.QueueDir, cfg.HashQueues, cfg.HashDepth),
		resolver:  resolve.New(cfg.Resolve),
		sched:     NewSched(cfg.Sched),
		pool:      newConnPool(cfg.IPCTimeout, now),
		now:       now,
		reports:   make(chan *report, 64),
		finished:  make(chan *message, 64),
		activated: make(chan scanItem, 64),
		wake:      make(chan struct{}, 1),
		controls:  make(chan *flushRequest),
		msgs:      make(map[string]*message),
		flushed:   make(map[string]bool),
		recovered: make(map[string]bool),
	}
}

// nudge asks the loop for a scan of incoming; it never blocks.
func (q *qmgr) nudge() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// run is the event loop. It returns when ctx is cancelled and the
// deliveries under way have ended, or StopTimeout has passed.
func (q *qmgr) run(ctx context.Context, wakeup <-chan struct{}) error {
	ioCtx, ioCancel := context.WithCancel(context.WithoutCancel(ctx))
	defer ioCancel()
	q.ioCtx = ioCtx
	lock, err := lockActive(ctx, q.layout.Dir(queue.Active))
	if err != nil {
		if ctx.Err() != nil {
			return nil // stopped before the previous qmgr was gone
		}
		return err
	}
	defer lock.Close()
	q.recover()
	q.wantIncoming, q.wantDeferred = true, true
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	done := ctx.Done()
	var stopDeadline <-chan time.Time
	for ; ; q.rounds.Add(1) {
		if q.stopping {
			if q.inflight == 0 && q.finishing == 0 && !q.scanning {
				break
			}
		} else {
			q.maybeScan()
			q.schedule()
		}
		q.resetTimer(timer)
		select {
		case <-done:
			done = nil
			q.stopping = true
			stopDeadline = time.After(q.cfg.StopTimeout)
		case <-stopDeadline:
			q.log.Warning("stopping with %d deliveries still under way", q.inflight)
			q.closeAll()
			return nil
		case <-q.wake:
			q.wantIncoming = true
		case <-wakeup:
			q.wantIncoming = true
		case it := <-q.activated:
			if it.m != nil {
				q.add(it.m)
			} else {
				q.scanEnded(it.end)
			}
		case r := <-q.reports:
			q.handle(r)
		case m := <-q.finished:
			q.finishing--
			delete(q.msgs, m.id)
		case f := <-q.controls:
			q.flush(f)
		case <-timer.C:
		}
	}
	q.closeAll()
	return nil
}

// closeAll closes what the loop holds. Messages still in active stay
// there; the next start schedules them again.
func (q *qmgr) closeAll() {
	for _, m := range q.msgs {
		if !m.finishing {
			m.file.Close()
		}
	}
	q.pool.closeAll()
}

// resetTimer arms the timer for the next deferred scan or the end of a
// suspension, whichever comes first. A deferred scan already wanted waits
// for the event that lets it run (a scan ending, a message leaving), not
// for the clock.
func (q *qmgr) resetTimer(t *time.Timer) {
	next := q.now().Add(time.Hour)
	if !q.wantDeferred && !q.stopping && q.nextDeferredScan.Before(next) {
		next = q.nextDeferredScan
	}
	if at, ok := q.sched.NextEvent(); ok && at.Before(next) {
		next = at
	}
	t.Reset(max(next.Sub(q.now()), time.Millisecond))
}

// schedule starts what the scheduler decides.
func (q *qmgr) schedule() {
	acts := q.sched.Next(q.now())
	var defers []Action
	for _, a := range acts {
		if a.Kind == ActDeliver {
			q.inflight++
			go q.deliver(q.ioCtx, a.Entry)
		} else {
			defers = append(defers, a)
		}
	}
	if len(defers) > 0 {
		q.inflight += len(defers)
		go q.deferEntries(q.ioCtx, slices.Clone(defers))
	}
}

// add takes a message the scanner has activated and queues its recipients.
func (q *qmgr) add(m *message) {
	q.msgs[m.id] = m
	if q.flushed[m.id] {
		m.flushed = true
		delete(q.flushed, m.id)
	}
	now := q.now()
	for _, rt := range m.routes {
		m.pending += len(rt.rcpts)
		q.sched.Add(now, m.id, m, rt.transport, rt.nexthop, rt.rcpts, m.flushed)
	}
	m.routes = nil
	if len(m.unrouted) > 0 {
		e := &Entry{ID: m.id, Msg: m, Rcpts: m.unrouted}
		m.pending += len(m.unrouted)
		q.inflight++
		go func() { q.reports <- q.deferAll(q.ioCtx, e, m.resolveFailure) }()
		m.unrouted = nil
	}
	if m.pending == 0 {
		q.finish(m)
	}
}

// handle takes the report of a delivery or a deferral. Delivered
// recipients are marked done here, in the queue file, unless this report
// completes a message that is removed at once: then the unlink says it
// all, and the mark would be one more write for nothing.
func (q *qmgr) handle(r *report) {
	q.inflight--
	e := r.entry
	m := e.Msg
	if r.scheduled {
		q.sched.Done(q.now(), e, r.outcome, r.reason)
	}
	for _, o := range r.rcpts {
		if !o.done {
			m.deferred++
			st := &m.rcpts[o.index]
			st.status, st.reason, st.remote = o.status, o.reason, o.remote
		}
	}
	m.pending -= len(r.rcpts)
	m.bounceLog = m.bounceLog || r.bounceLog
	m.traceLog = m.traceLog || r.traceLog
	m.deferLogged = m.deferLogged || r.deferLog
	if m.pending == 0 && !q.stopping && q.removable(m) {
		q.remove(m)
		delete(q.msgs, m.id)
		return
	}
	q.markDone(m, r.rcpts)
	if m.pending == 0 && !q.stopping {
		q.finish(m)
	}
}

// removable reports whether a message whose round is over is simply done:
// every recipient delivered, no report to send, no log from before.
func (q *qmgr) removable(m *message) bool {
	return m.deferred == 0 && !m.bounceLog && !m.traceLog && !m.deferLogged && !m.older && !m.forced
}

// finish ends a message's round in its own goroutine, since it may talk
// to the bounce service: return it to the sender, defer it, or send its
// reports and remove it. (A message that is simply done is removed by
// handle.)
func (q *qmgr) finish(m *message) {
	m.finishing = true
	q.finishing++
	go func() {
		q.finalize(q.ioCtx, m)
		q.finished <- m
	}()
}
