package smtp

import (
	"context"
	"strings"
	"time"

	"github.com/postern-mta/postern/internal/addr"
	"github.com/postern-mta/postern/internal/dsn"
	"github.com/postern-mta/postern/internal/maillog"
	"github.com/postern-mta/postern/internal/proto"
	"github.com/postern-mta/postern/queue"
)

// rcptState is where one recipient of a request stands.
type rcptState struct {
	res proto.RcptResult
	set bool // res holds something
	// final: no other server may change the result (a 2xx, or a 5xx from
	// a server). Anything else is the latest failure, and a later try
	// replaces it.
	final bool
	ready time.Time // when the session that decided was set up (zero: none)
	done  time.Time
}

// delivery is one DeliverRequest being worked on.
type delivery struct {
	a     *Agent
	req   *proto.DeliverRequest
	f     *queue.File
	start time.Time

	verify        bool
	utf8Needed    bool // an envelope address is not ASCII
	utf8Requested bool // the sender asked for SMTPUTF8
	encoding      string

	rcpts    []rcptState
	sessions int  // sessions that completed the handshake
	reached  bool // some server completed the handshake
	// last is the latest failure of a server or destination as a whole;
	// notes are failures logged as "QID: reason" when another server is
	// tried after them, as Postfix does.
	last  *failure
	notes []string
}

// Deliver handles one request: it reads the message, delivers it to the
// request's next hop and answers one result per recipient, logging each.
func (a *Agent) Deliver(ctx context.Context, req *proto.DeliverRequest) *proto.DeliverReply {
	start := time.Now()
	if !queue.ValidID(req.QueueID) || req.Queue == "" || strings.ContainsAny(req.Queue, "/.") {
		a.log.Warning("bad request: queue %q, queue ID %q", req.Queue, req.QueueID)
		return &proto.DeliverReply{Status: dsn.Temp("4.3.0", "bad delivery request")}
	}
	f, err := queue.Open(a.layout.Path(req.Queue, req.QueueID), false)
	if err != nil {
		a.log.Warning("%s: %v", req.QueueID, err)
		return &proto.DeliverReply{Status: dsn.Temp("4.3.0", "cannot read the queue file").Wrap(err)}
	}
	defer f.Close()
	d := &delivery{
		a: a, req: req, f: f, start: start,
		verify:   req.Flags&proto.DeliverVerify != 0,
		encoding: strings.ToLower(f.Envelope.Attr(proto.AttrEncoding)),
		rcpts:    make([]rcptState, len(req.Recipients)),
	}
	switch strings.ToLower(f.Envelope.Attr(proto.AttrSMTPUTF8)) {
	case "", "0", "no", "false":
	default:
		d.utf8Requested = true
	}
	d.utf8Needed = !ascii(req.Sender)
	for _, r := range req.Recipients {
		if !ascii(r.Addr) {
			d.utf8Needed = true
		}
	}
	d.run(ctx)
	d.finish()
	d.logResults()
	reply := &proto.DeliverReply{Results: make([]proto.RcptResult, len(d.rcpts))}
	anyOK := false
	for i := range d.rcpts {
		reply.Results[i] = d.rcpts[i].res
		anyOK = anyOK || d.rcpts[i].res.Status.Success()
	}
	reply.DestinationDead = !d.reached && !anyOK && d.last != nil && d.last.site && d.last.temporary()
	return reply
}

// run tries the destinations of the next hop, then the fallback relays,
// until every recipient has a final result or there is nothing left to
// try.
func (d *delivery) run(ctx context.Context) {
	a := d.a
	hop := d.req.Nexthop
	if hop == "" && len(d.req.Recipients) > 0 {
		hop = addr.Domain(d.req.Recipients[0].Addr)
	}
	dests, err := parseNexthops(hop, a.cfg.LMTP, a.cfg.QueueDir)
	if err != nil {
		a.log.Warning("%s: %v", d.req.QueueID, err)
		d.siteFail(localFailure("4.3.5", false, "mail system configuration error: %v", err))
		return
	}
	for _, dst := range dests {
		if !d.pending() || d.limitReached() || ctx.Err() != nil {
			return
		}
		d.tryDest(ctx, dst)
	}
	// The session limit is for the destination's own servers: the
	// fallback relays get their chance after it.
	d.sessions = 0
	for _, fb := range a.fallback {
		if !d.pending() || d.limitReached() || ctx.Err() != nil {
			return
		}
		if !d.isDest(dests, fb) {
			d.tryDest(ctx, fb)
		}
	}
}

func (d *delivery) isDest(dests []dest, fb dest) bool {
	for _, x := range dests {
		if strings.EqualFold(x.text, fb.text) {
			return true
		}
	}
	return false
}

func (d *delivery) limitReached() bool {
	n := d.a.cfg.MXSessionLimit
	return n > 0 && d.sessions >= n
}

// pending reports whether some recipient still lacks a final result.
func (d *delivery) pending() bool {
	for i := range d.rcpts {
		if !d.rcpts[i].final {
			return true
		}
	}
	return false
}

// tryDest delivers to one destination: a cached session first, then each
// server of the destination in turn.
func (d *delivery) tryDest(ctx context.Context, dst dest) {
	a := d.a
	d.flushNotes()
	key := dst.text
	if dst.unix == "" {
		key = strings.ToLower(key)
	}
	if s := a.cache.get(key); s != nil {
		s.reused = true
		if stale := d.transact(ctx, s, key); !stale {
			d.sessions++
			d.reached = true
			if !d.pending() {
				return
			}
		}
	}
	targets, f := a.targets(ctx, dst)
	if f != nil {
		d.siteFail(f)
		return
	}
	for _, t := range targets {
		if !d.pending() || d.limitReached() || ctx.Err() != nil {
			return
		}
		d.flushNotes()
		s, f := a.connect(ctx, t, false)
		if f != nil && f.plain {
			a.log.Info("%s: %s; trying %s without TLS", d.req.QueueID, f.reason, t.relay())
			s, f = a.connect(ctx, t, true)
		}
		if f != nil {
			d.siteFail(f)
			continue
		}
		d.sessions++
		d.reached = true
		d.transact(ctx, s, key) // a fresh session is never stale
	}
}

// siteFail records a failure of a whole server or destination: every
// recipient without a final result gets it (the latest failure wins).
func (d *delivery) siteFail(f *failure) {
	d.note(f)
	d.last = f
	now := time.Now()
	for i := range d.rcpts {
		rs := &d.rcpts[i]
		if rs.final {
			continue
		}
		rs.res, rs.set, rs.ready, rs.done = f.result("none"), true, time.Time{}, now
	}
}

// rcptFail records a failure of one recipient at a server.
func (d *delivery) rcptFail(i int, f *failure, s *session, ready time.Time) {
	rs := &d.rcpts[i]
	rs.res, rs.set, rs.ready, rs.done = f.result(s.relay), true, ready, time.Now()
	rs.final = !f.temporary()
	if f.temporary() {
		d.note(f)
	}
}

// rcptDone records a success.
func (d *delivery) rcptDone(i int, res proto.RcptResult, ready time.Time) {
	rs := &d.rcpts[i]
	rs.res, rs.set, rs.final, rs.ready, rs.done = res, true, true, ready, time.Now()
}

// note keeps a temporary failure to log if another server is tried.
func (d *delivery) note(f *failure) {
	if f.temporary() {
		d.notes = append(d.notes, f.reason)
	}
}

// flushNotes logs the failures that made us try another server.
func (d *delivery) flushNotes() {
	for _, n := range d.notes {
		d.a.log.Info("%s: %s", d.req.QueueID, n)
	}
	d.notes = d.notes[:0]
}

// finish gives a result to every recipient that has none (nothing was
// tried: a stop came first).
func (d *delivery) finish() {
	f := d.last
	if f == nil {
		f = interrupted()
	}
	now := time.Now()
	for i := range d.rcpts {
		if !d.rcpts[i].set {
			d.rcpts[i] = rcptState{res: f.result("none"), set: true, done: now}
		}
	}
}

// logResults writes one line per recipient.
func (d *delivery) logResults() {
	arrival := d.req.Arrival
	if arrival.IsZero() {
		arrival = d.f.Envelope.Arrival
	}
	active := d.req.Active
	if active.IsZero() {
		active = d.start
	}
	for i, rc := range d.req.Recipients {
		rs := d.rcpts[i]
		var setup, xfer time.Duration
		if rs.ready.IsZero() {
			setup = rs.done.Sub(d.start)
		} else {
			setup, xfer = rs.ready.Sub(d.start), rs.done.Sub(rs.ready)
		}
		relay := rs.res.Relay
		if relay == "" {
			relay = "none"
		}
		d.a.log.Delivery(maillog.Delivery{
			QueueID: d.req.QueueID,
			To:      rc.Addr,
			OrigTo:  rc.Orig,
			Relay:   relay,
			Delay:   rs.done.Sub(arrival),
			Delays:  [4]time.Duration{active.Sub(arrival), d.start.Sub(active), setup, xfer},
			DSN:     rs.res.Status.Enhanced,
			Status:  d.statusWord(rs.res.Status),
			Text:    rs.res.Reason,
		})
	}
}

func (d *delivery) statusWord(st *dsn.Status) string {
	switch st.Class() {
	case 2:
		if d.verify {
			return "deliverable"
		}
		return "sent"
	case 5:
		if d.verify {
			return "undeliverable"
		}
		return "bounced"
	}
	return "deferred"
}

func ascii(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
