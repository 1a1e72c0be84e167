package qmgr

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"time"

	"github.com/postern-mta/postern/internal/dsn"
	"github.com/postern-mta/postern/internal/proto"
	"github.com/postern-mta/postern/queue"
)

// When every recipient of a message has been tried in this round, the
// message leaves the active queue:
//
//   - recipients still deferred past the message's lifetime (or all of
//     them, when postsuper -e expired it) are returned to the sender with
//     their last reason: "status=expired, returned to sender";
//   - failed recipients get their non-delivery report now, even while
//     others wait for another try;
//   - with recipients still deferred, a delay warning is sent if one is
//     due, and the file moves to deferred with its next try time;
//   - with everything done, a success or verification report is sent if
//     one was asked for, and the file is removed: "QID: removed".
//
// A report that cannot be sent now keeps the message: it goes to deferred
// and the report is asked for again at its next try.

// finalize ends m's round. It runs in its own goroutine after the last
// report about m.
func (q *qmgr) finalize(ctx context.Context, m *message) {
	now := q.now()
	var pending []int
	for i := range m.env.Recipients {
		if !m.env.Recipients[i].Done {
			pending = append(pending, i)
		}
	}
	age := now.Sub(m.arrival)
	if len(pending) > 0 && (m.forced || expired(m.env.Sender, age, q.cfg.MaxLifetime, q.cfg.BounceLifetime)) {
		if err := q.expire(ctx, m, pending, now); err != nil {
			q.log.Warning("%s: %v", m.id, err)
			q.deferMessage(m, now, q.cfg.MinBackoff)
			return
		}
		pending = nil
	}
	if m.bounceLog || m.older && q.logExists(queue.Bounce, m.id) {
		if err := q.notify(ctx, proto.ReportBounce, m, queue.Active); err != nil {
			q.log.Warning("%s: %v; will try again", m.id, err)
			q.deferMessage(m, now, q.cfg.MinBackoff)
			return
		}
	}
	if len(pending) > 0 {
		q.warnIfDue(ctx, m, now)
		q.deferMessage(m, now, backoff(age, q.cfg.MinBackoff, q.cfg.MaxBackoff))
		return
	}
	q.complete(ctx, m, now)
}

// complete sends the success or verification report a message asked for
// and removes it.
func (q *qmgr) complete(ctx context.Context, m *message, now time.Time) {
	if m.traceLog || m.older && q.logExists(queue.Trace, m.id) {
		report := proto.ReportSuccess
		if m.verify {
			report = proto.ReportVerify
		}
		if err := q.notify(ctx, report, m, queue.Active); err != nil {
			q.log.Warning("%s: %v; will try again", m.id, err)
			q.deferMessage(m, now, q.cfg.MinBackoff)
			return
		}
	}
	if m.deferLogged || m.older {
		if err := q.layout.RemoveLog(queue.Defer, m.id); err != nil {
			q.log.Warning("%s: %v", m.id, err)
		}
	}
	q.remove(m)
}

// remove removes a message that is done: one unlink.
func (q *qmgr) remove(m *message) {
	m.file.Close()
	if err := q.layout.Remove(queue.Active, m.id); err != nil {
		if !errors.Is(err, fs.ErrNotExist) { // else postsuper took it away meanwhile
			q.log.Warning("%s: %v", m.id, err)
		}
		return
	}
	q.log.Info("%s: removed", m.id)
}

func (q *qmgr) logExists(kind, id string) bool {
	_, err := os.Lstat(q.layout.Path(kind, id))
	return err == nil
}

// deferMessage moves m to the deferred queue, to be tried again after
// delay. The next try time is set before the move (a rename keeps it), so
// that a flush that sees the file in deferred is never undone by it.
func (q *qmgr) deferMessage(m *message, now time.Time, delay time.Duration) {
	m.file.Close()
	if err := q.layout.SetNextTry(q.layout.Path(queue.Active, m.id), now.Add(delay)); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return // postsuper took it away meanwhile
		}
		q.log.Warning("%s: %v", m.id, err)
	}
	if err := q.layout.Move(m.id, queue.Active, queue.Deferred); err != nil && !errors.Is(err, fs.ErrNotExist) {
		q.log.Error("%s: %v", m.id, err)
	}
}

// warnIfDue sends m's delay warning once its warning time has come, and
// marks it sent.
func (q *qmgr) warnIfDue(ctx context.Context, m *message, now time.Time) {
	w := m.env.WarnTime
	if w.IsZero() || now.Before(w) || m.env.Flags&flagDelayWarned != 0 {
		return
	}
	if err := q.notify(ctx, proto.ReportDelay, m, queue.Active); err != nil {
		q.log.Warning("%s: %v", m.id, err)
		return
	}
	// The flags are read again: postsuper may have set one since the
	// message was opened, and SetFlags writes them all.
	flags := m.env.Flags
	if env, _, err := queue.ReadEnvelope(m.file.Path); err == nil {
		flags = env.Flags
	}
	if err := m.file.SetFlags(flags | flagDelayWarned); err != nil {
		q.log.Warning("%s: %v", m.id, err)
	}
}

// Reasons for an expiry without a reason of its own (the deferral was not
// recorded).
var (
	adminExpired    = &dsn.Status{Code: 450, Enhanced: "4.7.0", Text: "message is administratively expired"}
	lifetimeExpired = &dsn.Status{Code: 450, Enhanced: "4.4.7", Text: "delivery time limit exceeded"}
)

// expire returns m's pending recipients to the sender: each goes to the
// bounce log with its last deferral reason and what the remote server
// said then (its 4.x.x status kept, action failed, as RFC 3464 says for
// mail given up on) and is marked done.
func (q *qmgr) expire(ctx context.Context, m *message, pending []int, now time.Time) error {
	var fromLog []queue.LogRecord
	read := false
	entries := make([]proto.LogEntry, 0, len(pending))
	for _, i := range pending {
		st, reason, remote := m.rcpts[i].status, m.rcpts[i].reason, m.rcpts[i].remote
		if st == nil {
			if !read {
				fromLog, read = q.deferLog(m.id), true
			}
			if rec := lastRecord(fromLog, &m.env.Recipients[i]); rec != nil && dsn.IsEnhanced(rec.Status) {
				st = &dsn.Status{Enhanced: rec.Status, Text: rec.Reason}
				reason = rec.Reason
				remote = remoteDiag{rec.RemoteMTA, rec.DiagType, rec.Diag}
			}
		}
		if st == nil {
			st = lifetimeExpired
			if m.forced {
				st = adminExpired
			}
		}
		if !st.Temporary() || !dsn.IsEnhanced(st.Enhanced) {
			enh := "4.0.0"
			if dsn.IsEnhanced(st.Enhanced) {
				enh = "4" + st.Enhanced[1:]
			}
			st = &dsn.Status{Code: 450, Enhanced: enh, Text: st.Text}
		}
		if reason == "" {
			reason = st.Text
		}
		e := m.logEntry(i, st, proto.ActionFailed, nil, now)
		e.Reason = reason
		e.RemoteMTA, e.DiagType, e.Diag = remote.mta, remote.diagType, remote.diag
		entries = append(entries, e)
	}
	if err := q.appendLog(ctx, proto.LogBounce, m, entries); err != nil {
		return err
	}
	m.bounceLog = true
	for _, i := range pending {
		if err := m.file.MarkDone(i); err != nil {
			q.log.Warning("%s: %v", m.id, err)
		}
	}
	status := "expired"
	if m.forced {
		status = "force-expired"
	}
	q.log.Info("%s: from=<%s>, status=%s, returned to sender", m.id, m.env.Sender, status)
	return nil
}

// deferLog reads a message's defer log: the reasons of its last try.
func (q *qmgr) deferLog(id string) []queue.LogRecord {
	recs, err := q.layout.ReadLog(queue.Defer, id)
	if err != nil {
		q.log.Warning("%s: %v", id, err)
	}
	return recs
}

// lastRecord is the last log record about recipient r: by its record
// offset, or by address for a record without one.
func lastRecord(recs []queue.LogRecord, r *queue.Recipient) *queue.LogRecord {
	for k := len(recs) - 1; k >= 0; k-- {
		rec := &recs[k]
		if rec.Offset != 0 && rec.Offset == r.Offset || rec.Offset == 0 && rec.Recipient == r.Addr {
			return rec
		}
	}
	return nil
}
