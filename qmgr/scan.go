package qmgr

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"time"

	"github.com/postern-mta/postern/queue"
)

// Scans find the messages to bring into the active queue. Wake-ups from
// cleanup, master's timer and flush requests only ask for a scan; the
// directory is the truth, so a lost wake-up delays mail by one scan and
// never loses it. One scan runs at a time, in its own goroutine, and
// handles everything it finds (up to the active limit): many wake-ups
// while it runs make one more scan, not many.

// scanRequest says what one scan looks at.
type scanRequest struct {
	incoming bool
	deferred bool
	capacity int // most messages to activate
	now      time.Time
}

// scanItem is what a scan sends the event loop, in order: each message it
// activated (m), then its end (m nil). One channel keeps the order, so the
// loop has counted every message of a scan before it may start another.
type scanItem struct {
	m   *message
	end scanResult
}

// scanResult says whether a scan stopped at its capacity with files left.
type scanResult struct {
	moreIncoming bool
	moreDeferred bool
}

var errFull = errors.New("active queue full")

// recover moves what a previous qmgr left in the active queue back to
// incoming, to be scheduled again (see "Recovery" in doc.go). It runs
// before the first scan; scans only read q.recovered.
func (q *qmgr) recover() {
	n := 0
	err := q.layout.Walk(queue.Active, func(id, _ string) error {
		if err := q.layout.Move(id, queue.Active, queue.Incoming); err != nil {
			q.log.Warning("%v", err)
			return nil
		}
		q.recovered[id] = true
		n++
		return nil
	})
	if err != nil {
		q.log.Warning("%v", err)
	}
	if n > 0 && q.cfg.Verbose {
		q.log.Info("moved %d messages from the active queue back to incoming", n)
	}
}

// maybeScan starts a scan when one is wanted, none runs and the active
// queue has room. After a scan stopped at the limit, the next one waits
// until a fair number of slots are free, so that a backlog is not read
// from the start of its directory for every message that leaves.
func (q *qmgr) maybeScan() {
	now := q.now()
	if !q.nextDeferredScan.After(now) {
		q.wantDeferred = true
	}
	if q.scanning || (!q.wantIncoming && !q.wantDeferred) {
		return
	}
	room := q.cfg.ActiveLimit - len(q.msgs)
	if room <= 0 || q.backlog && len(q.msgs) > 0 && room < min(100, max(1, q.cfg.ActiveLimit/2)) {
		return
	}
	req := scanRequest{incoming: q.wantIncoming, deferred: q.wantDeferred, capacity: room, now: now}
	q.wantIncoming, q.wantDeferred, q.backlog = false, false, false
	if req.deferred {
		q.nextDeferredScan = now.Add(q.cfg.QueueRunDelay)
	}
	q.scanning = true
	go q.scan(q.ioCtx, req)
}

// scanEnded takes the end of a scan.
func (q *qmgr) scanEnded(res scanResult) {
	q.scanning = false
	if res.moreIncoming {
		q.wantIncoming, q.backlog = true, true
	}
	if res.moreDeferred {
		q.wantDeferred, q.backlog = true, true
	}
}

// scan brings messages into the active queue: every file in incoming,
// then every file in deferred whose next try time has come.
func (q *qmgr) scan(ctx context.Context, req scanRequest) {
	a := activator{q: q}
	left := req.capacity
	var res scanResult
	take := func(id, from string) error {
		if left == 0 {
			return errFull
		}
		if m := a.activate(ctx, id, from); m != nil {
			q.activated <- scanItem{m: m}
			left--
		}
		return nil
	}
	if req.incoming {
		err := q.layout.Walk(queue.Incoming, func(id, _ string) error { return take(id, queue.Incoming) })
		res.moreIncoming = q.walkEnd(err)
	}
	if req.deferred && left > 0 {
		err := q.layout.Walk(queue.Deferred, func(id, path string) error {
			fi, err := os.Lstat(path)
			if err != nil {
				if !errors.Is(err, fs.ErrNotExist) {
					q.log.Warning("%s: %v", id, err)
				}
				return nil
			}
			if queue.NextTry(fi).After(req.now) {
				return nil
			}
			return take(id, queue.Deferred)
		})
		res.moreDeferred = q.walkEnd(err)
	} else if req.deferred {
		res.moreDeferred = true
	}
	q.activated <- scanItem{end: res}
}

// walkEnd reports whether a walk stopped at the active limit, and logs
// any other error.
func (q *qmgr) walkEnd(err error) bool {
	if errors.Is(err, errFull) {
		return true
	}
	if err != nil {
		q.log.Warning("%v", err)
	}
	return false
}
