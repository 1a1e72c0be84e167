package qmgr

import (
	"context"
	"errors"
	"syscall"
	"time"

	"github.com/postern-mta/postern/internal/dsn"
	"github.com/postern-mta/postern/internal/maillog"
	"github.com/postern-mta/postern/internal/proto"
	"github.com/postern-mta/postern/internal/resolve"
	"github.com/postern-mta/postern/queue"
)

// A delivery runs in its own goroutine (the scheduler bounds how many run
// at once): it sends the entry to the transport's agent over a pooled
// connection, records the outcome of each recipient (queue file, bounce,
// defer and trace logs) and reports to the event loop.

// rcptOutcome is what became of one recipient of an entry.
type rcptOutcome struct {
	index  int
	done   bool        // delivered, bounced or verified: no more tries
	marked bool        // done and already marked so in the queue file
	status *dsn.Status // not done: why it was deferred
	reason string
	remote remoteDiag
}

// report is the end of a delivery, or of a deferral without trying, for
// the event loop.
type report struct {
	entry     *Entry
	scheduled bool // a delivery Next started: the scheduler needs Done
	outcome   Outcome
	reason    *dsn.Status
	rcpts     []rcptOutcome
	bounceLog bool
	traceLog  bool
	deferLog  bool
}

// Reasons qmgr gives itself.
var (
	agentFailure = &dsn.Status{Code: 451, Enhanced: "4.3.0", Text: "unknown mail transport error"}
	noStatus     = &dsn.Status{Code: 451, Enhanced: "4.3.0", Text: "delivery agent gave no status"}
)

// deliver carries out one delivery and reports it.
func (q *qmgr) deliver(ctx context.Context, e *Entry) {
	// "QID: from=..." goes out before the agent logs the delivery.
	q.log.Flush()
	m := e.Msg
	req := &proto.DeliverRequest{
		Queue:      queue.Active,
		QueueID:    m.id,
		Transport:  e.Transport,
		Nexthop:    e.Nexthop,
		Sender:     m.env.Sender,
		Recipients: make([]proto.DeliverRcpt, len(e.Rcpts)),
		Arrival:    m.arrival,
		Active:     m.active,
		Size:       m.file.Size(),
		DSNRet:     m.env.DSNRet,
		DSNEnvID:   m.env.DSNEnvID,
		Attrs:      m.attrs,
	}
	for i, r := range e.Rcpts {
		fr := &m.env.Recipients[r.Index]
		req.Recipients[i] = proto.DeliverRcpt{Addr: r.Addr, Orig: fr.Orig, Notify: fr.Notify, ORCPT: fr.ORCPT, Offset: fr.Offset}
	}
	if e.Transport == resolve.TransportError || e.Transport == resolve.TransportRetry {
		req.ErrorText = e.Nexthop
	}
	if m.verify {
		req.Flags |= proto.DeliverVerify
	}
	if m.trace {
		req.Flags |= proto.DeliverTrace
	}
	rep, outcome, err := q.callAgent(ctx, req)
	var r *report
	switch {
	case err != nil:
		// The details go to the log; the sender and mailq get the
		// plain reason.
		st := agentFailure
		if outcome == AgentDown {
			// Postfix's words, which administrators look for when a
			// transport (a content filter's, say) is not in master.cf.
			st = transportUnavailable
			var errno syscall.Errno
			if errors.As(err, &errno) {
				err = errno
			}
			q.log.Warning("%s: connect to transport private/%s: %v", m.id, e.Transport, err)
		} else {
			q.log.Warning("%s: %s: %v", m.id, e.Transport, err)
		}
		r = q.deferAll(ctx, e, st)
	case rep.Status != nil:
		// The agent could not start (could not read the file, say).
		r = q.deferAll(ctx, e, rep.Status)
		outcome = Broken
	default:
		r = q.record(ctx, e, rep)
		if rep.DestinationDead {
			outcome = Dead
			r.reason = firstFailure(rep)
		}
	}
	r.scheduled, r.outcome = true, outcome
	q.reports <- r
}

// callAgent sends req to its transport's agent. The outcome is AgentDown
// when the agent could not be reached, Broken when it failed during the
// exchange.
func (q *qmgr) callAgent(ctx context.Context, req *proto.DeliverRequest) (*proto.DeliverReply, Outcome, error) {
	path := proto.PrivatePath(q.cfg.QueueDir, req.Transport)
	var rep proto.DeliverReply
	c, err := q.pool.call(ctx, path, proto.ServiceDeliver, proto.VersionDeliver, q.cfg.DeliverTimeout, req, &rep)
	if ce := (*connectError)(nil); errors.As(err, &ce) {
		return nil, AgentDown, ce.err
	}
	if err != nil {
		return nil, Broken, err
	}
	if rep.Status == nil && len(rep.Results) != len(req.Recipients) {
		c.Close()
		return nil, Broken, errors.New("delivery agent answered for the wrong number of recipients")
	}
	q.pool.put(path, c)
	return &rep, Reached, nil
}

// firstFailure is the reason a dead destination gives: the first
// recipient's status, with the agent's reason text.
func firstFailure(rep *proto.DeliverReply) *dsn.Status {
	for _, r := range rep.Results {
		if r.Status != nil && !r.Status.Success() {
			st := *r.Status
			if r.Reason != "" {
				st.Text = r.Reason
			}
			return &st
		}
	}
	return &dsn.Status{Code: 451, Enhanced: "4.4.1", Text: "destination not reachable"}
}

// record writes down what the agent said about each recipient: delivered
// ones are marked done; failed ones go to the bounce log and are then
// marked done (a failure whose record was lost would never reach the
// sender, so a bounce log that cannot be written leaves the recipient to
// be tried again); delayed ones go to the defer log. Traces are kept for
// -v, -bv and NOTIFY=SUCCESS.
func (q *qmgr) record(ctx context.Context, e *Entry, rep *proto.DeliverReply) *report {
	m := e.Msg
	now := q.now()
	r := &report{entry: e, rcpts: make([]rcptOutcome, len(e.Rcpts))}
	var bounces, defers, traces []proto.LogEntry
	var bounced []int // positions in e.Rcpts of the bounced recipients
	for k, rr := range e.Rcpts {
		res := &rep.Results[k]
		st := res.Status
		if st == nil {
			st = noStatus
		}
		action := res.Action
		if q.cfg.SoftBounce && st.Permanent() {
			st, action = st.Soften(), proto.ActionDelayed
		}
		out := &r.rcpts[k]
		out.index = rr.Index
		switch {
		case m.verify:
			traces = append(traces, m.logEntry(rr.Index, st, orAction(action, st), res, now))
			out.done = true
		case st.Success():
			if m.wantsSuccessNotice(rr.Index) {
				traces = append(traces, m.logEntry(rr.Index, st, orAction(action, st), res, now))
			}
			out.done = true
		case st.Permanent():
			bounces = append(bounces, m.logEntry(rr.Index, st, proto.ActionFailed, res, now))
			bounced = append(bounced, k)
			if m.trace {
				traces = append(traces, bounces[len(bounces)-1])
			}
		default:
			out.status, out.reason = st, res.Reason
			out.remote = remoteDiag{res.RemoteMTA, res.DiagType, res.Diag}
			defers = append(defers, m.logEntry(rr.Index, st, proto.ActionDelayed, res, now))
			if m.trace {
				traces = append(traces, defers[len(defers)-1])
			}
		}
	}
	if len(bounces) > 0 {
		if err := q.appendLog(ctx, proto.LogBounce, m, bounces); err != nil {
			q.log.Warning("%s: %v", m.id, err)
			for _, k := range bounced {
				r.rcpts[k].status, r.rcpts[k].reason = bounceFailure, bounceFailure.Text
			}
		} else {
			// Marked at once: the failure is on record now.
			r.bounceLog = true
			for _, k := range bounced {
				r.rcpts[k].done = true
			}
			q.markDone(m, r.rcpts)
		}
	}
	if len(defers) > 0 {
		r.deferLog = true
		if err := q.appendLog(ctx, proto.LogDefer, m, defers); err != nil {
			q.log.Warning("%s: %v", m.id, err)
		}
	}
	if len(traces) > 0 {
		if err := q.appendLog(ctx, proto.LogTrace, m, traces); err != nil {
			q.log.Warning("%s: %v", m.id, err)
		} else {
			r.traceLog = true
		}
	}
	return r
}

var bounceFailure = &dsn.Status{Code: 451, Enhanced: "4.3.0", Text: "cannot record the failure for the sender; will try again"}

func orAction(action string, st *dsn.Status) string {
	if action != "" {
		return action
	}
	if st.Success() {
		return proto.ActionDelivered
	}
	if st.Permanent() {
		return proto.ActionFailed
	}
	return proto.ActionDelayed
}

// markDone marks the done recipients in the queue file. A mark that fails
// is only logged: the recipient is then delivered again next time, never
// lost.
func (q *qmgr) markDone(m *message, outs []rcptOutcome) {
	for i := range outs {
		o := &outs[i]
		if o.done && !o.marked {
			if err := m.file.MarkDone(o.index); err != nil {
				q.log.Warning("%s: %v", m.id, err)
			}
			o.marked = true
		}
	}
}

// deferAll defers every recipient of e with st without a delivery: the
// entry was not tried (a suspended destination, a deferred or unavailable
// transport, a failed agent). qmgr logs these itself, since no agent did.
func (q *qmgr) deferAll(ctx context.Context, e *Entry, st *dsn.Status) *report {
	m := e.Msg
	now := q.now()
	r := &report{entry: e, rcpts: make([]rcptOutcome, len(e.Rcpts)), deferLog: true}
	entries := make([]proto.LogEntry, len(e.Rcpts))
	for k, rr := range e.Rcpts {
		r.rcpts[k] = rcptOutcome{index: rr.Index, status: st, reason: st.Text}
		entries[k] = m.logEntry(rr.Index, st, proto.ActionDelayed, nil, now)
		fr := &m.env.Recipients[rr.Index]
		q.log.Delivery(maillog.Delivery{
			QueueID: m.id,
			To:      fr.Addr,
			OrigTo:  fr.Orig,
			Relay:   "none",
			Delay:   now.Sub(m.arrival),
			Delays:  [4]time.Duration{m.active.Sub(m.arrival), now.Sub(m.active)},
			DSN:     st.Enhanced,
			Status:  "deferred",
			Text:    st.Text,
		})
	}
	if err := q.appendLog(ctx, proto.LogDefer, m, entries); err != nil {
		q.log.Warning("%s: %v", m.id, err)
	}
	return r
}

// deferEntries carries out the scheduler's deferrals, one goroutine for a
// whole batch.
func (q *qmgr) deferEntries(ctx context.Context, acts []Action) {
	for _, a := range acts {
		q.reports <- q.deferAll(ctx, a.Entry, a.Status)
	}
}
