package qmgr

import (
	"container/heap"
	"math"
	"strings"
	"time"

	"github.com/postern-mta/postern/internal/dsn"
)

// The scheduler decides which deliveries start when. It is a pure state
// machine: it reads no file, talks to no process and takes the time as an
// argument, so its decisions can be checked with tables of events (see
// sched_test.go). The event loop (loop.go) feeds it recipients (Add) and
// delivery outcomes (Done), and carries out the Actions Next returns.
//
// Mail is grouped by transport (the master.cf service that delivers it)
// and, within a transport, by destination (the next hop, or the recipient
// when the transport takes one recipient per delivery, as local does).
// Each destination has a concurrency window: deliveries at once. It starts
// at initial_destination_concurrency, grows with each delivery that
// reaches the destination and shrinks with each that finds it dead, within
// 1 and the transport's destination concurrency limit. Failures add up in
// "cohorts" (a window's worth of failed deliveries is one); when they
// reach the failed cohort limit the destination is suspended for
// minimal_backoff_time and its mail is deferred without being tried. The
// transport's process limit bounds deliveries at once across its
// destinations. Destinations and transports take turns (round robin), so
// a slow or dead destination holds at most its own window and never
// starves the others.

// Feedback is how much a window changes after a delivery: a constant, or a
// constant divided by the window or by its square root (Postfix's
// "1/concurrency" and "1/sqrt_concurrency").
type Feedback struct {
	Value float64
	Per   FeedbackPer
}

// FeedbackPer says what a Feedback value is divided by.
type FeedbackPer int

// Feedback divisors.
const (
	PerNothing FeedbackPer = iota
	PerWindow
	PerSqrtWindow
)

func (f Feedback) amount(window float64) float64 {
	switch f.Per {
	case PerWindow:
		return f.Value / window
	case PerSqrtWindow:
		return f.Value / math.Sqrt(window)
	}
	return f.Value
}

// TransportConfig holds the scheduling limits of one transport.
type TransportConfig struct {
	DestConcurrency    int // most deliveries at once to one destination (0: no limit)
	InitialConcurrency int // where a destination's window starts
	// RecipientLimit is the most recipients per delivery (0: no limit).
	// With 1, each recipient is a destination of its own, so that
	// DestConcurrency limits deliveries to one mailbox (local).
	RecipientLimit    int
	ProcessLimit      int // most deliveries at once by the transport: its master.cf maxproc (0: no limit)
	FailedCohortLimit int // failed cohorts before a destination is suspended (0: never)
	PositiveFeedback  Feedback
	NegativeFeedback  Feedback
	Deferred          bool // listed in defer_transports: mail waits for a flush
}

// SchedConfig configures a Sched.
type SchedConfig struct {
	Transports map[string]TransportConfig // by master.cf service name
	Default    TransportConfig            // for transports not listed
	// SuspendTime is how long a dead destination is left alone
	// (minimal_backoff_time).
	SuspendTime time.Duration
	// TransportRetryTime is how long a transport whose agent cannot be
	// reached is left alone (transport_retry_time).
	TransportRetryTime time.Duration
}

// RcptRef is one recipient of a message, as the scheduler knows it.
type RcptRef struct {
	Index int    // in the queue file's recipient list
	Addr  string // the resolved address
}

// Entry is a batch of one message's recipients for one destination: what
// one delivery request carries.
type Entry struct {
	ID        string   // queue ID
	Msg       *message // the event loop's message; nil in scheduler tests
	Transport string
	Nexthop   string
	Rcpts     []RcptRef
	Flushed   bool // the message was flushed: defer_transports do not hold it
	dest      *dest
}

// ActionKind says what an Action asks for.
type ActionKind int

// Action kinds.
const (
	// ActDeliver: send the entry to its transport's agent now and report
	// the outcome with Done.
	ActDeliver ActionKind = iota + 1
	// ActDefer: defer the entry's recipients without trying, with Status
	// as the reason. No Done follows.
	ActDefer
)

// Action is one decision of the scheduler.
type Action struct {
	Kind   ActionKind
	Entry  *Entry
	Status *dsn.Status // ActDefer: why
}

// Outcome is how a delivery ended, for the scheduler.
type Outcome int

// Outcomes.
const (
	// Reached: the agent reached the destination (whatever it said about
	// each recipient). Positive feedback.
	Reached Outcome = iota
	// Dead: the destination itself failed (no server answered, greeting
	// refused). Negative feedback; may suspend it.
	Dead
	// AgentDown: the agent could not be reached at all. The transport is
	// left alone for TransportRetryTime.
	AgentDown
	// Broken: the agent failed during the delivery (crashed, spoke
	// nonsense). No feedback about the destination.
	Broken
)

// Sched is the scheduler's state. It is not safe for concurrent use: one
// event loop owns it.
type Sched struct {
	cfg        SchedConfig
	transports map[string]*transport
	order      []*transport // round-robin order
	rr         int
	out        []Action // decided deferrals, returned by the next Next
	timers     timerHeap
	buf        []Action
}

type transport struct {
	name             string
	cfg              TransportConfig
	busy             int
	unavailableUntil time.Time
	reason           *dsn.Status
	dests            map[string]*dest
	ready            fifo[*dest] // destinations that may start a delivery now
}

type dest struct {
	t              *transport
	key            string
	window         float64
	busy           int
	failCohorts    float64
	queue          fifo[*Entry]
	inReady        bool
	suspendedUntil time.Time
	reason         *dsn.Status // the last failure
}

// NewSched returns an empty scheduler.
func NewSched(cfg SchedConfig) *Sched {
	return &Sched{cfg: cfg, transports: make(map[string]*transport)}
}

func (s *Sched) transport(name string) *transport {
	t := s.transports[name]
	if t == nil {
		cfg, ok := s.cfg.Transports[name]
		if !ok {
			cfg = s.cfg.Default
		}
		t = &transport{name: name, cfg: cfg, dests: make(map[string]*dest)}
		s.transports[name] = t
		s.order = append(s.order, t)
	}
	return t
}

func (t *transport) dest(key string) *dest {
	d := t.dests[key]
	if d == nil {
		d = &dest{t: t, key: key, window: t.initialWindow()}
		t.dests[key] = d
	}
	return d
}

// initialWindow is where a destination's window starts: the initial
// concurrency, within the destination limit.
func (t *transport) initialWindow() float64 {
	w := float64(max(t.cfg.InitialConcurrency, 1))
	if t.cfg.DestConcurrency > 0 {
		w = min(w, float64(t.cfg.DestConcurrency))
	}
	return w
}

// Add queues a message's recipients for one transport and next hop,
// split into entries of at most the transport's recipient limit.
func (s *Sched) Add(now time.Time, id string, msg *message, transportName, nexthop string, rcpts []RcptRef, flushed bool) {
	t := s.transport(transportName)
	hop := strings.ToLower(nexthop)
	if t.cfg.RecipientLimit == 1 {
		for _, r := range rcpts {
			e := &Entry{ID: id, Msg: msg, Transport: transportName, Nexthop: nexthop, Rcpts: []RcptRef{r}, Flushed: flushed}
			s.queue(now, t, t.dest(hop+"\x00"+strings.ToLower(r.Addr)), e)
		}
		return
	}
	d := t.dest(hop)
	limit := t.cfg.RecipientLimit
	if limit <= 0 {
		limit = len(rcpts)
	}
	for len(rcpts) > 0 {
		n := min(limit, len(rcpts))
		e := &Entry{ID: id, Msg: msg, Transport: transportName, Nexthop: nexthop, Rcpts: rcpts[:n:n], Flushed: flushed}
		s.queue(now, t, d, e)
		rcpts = rcpts[n:]
	}
}

// queue puts e in d's queue, or defers it at once when d or its transport
// is not to be tried now.
func (s *Sched) queue(now time.Time, t *transport, d *dest, e *Entry) {
	e.dest = d
	if st := s.holdReason(now, t, d, e); st != nil {
		s.out = append(s.out, Action{Kind: ActDefer, Entry: e, Status: st})
		s.forget(d)
		return
	}
	d.queue.push(e)
	t.markReady(d)
}

// holdReason says why e may not be tried now, or nil.
func (s *Sched) holdReason(now time.Time, t *transport, d *dest, e *Entry) *dsn.Status {
	switch {
	case t.cfg.Deferred && !e.Flushed:
		return deferredTransport
	case now.Before(t.unavailableUntil):
		return t.reason
	case now.Before(d.suspendedUntil):
		return suspended(d.reason)
	}
	return nil
}

// Reasons for deferring without trying.
var (
	deferredTransport    = &dsn.Status{Code: 450, Enhanced: "4.3.2", Text: "deferred transport"}
	transportUnavailable = &dsn.Status{Code: 450, Enhanced: "4.3.0", Text: "mail transport unavailable"}
)

func suspended(reason *dsn.Status) *dsn.Status {
	st := &dsn.Status{Code: 450, Enhanced: "4.4.1", Text: "delivery temporarily suspended"}
	if reason != nil {
		if reason.Temporary() && reason.Enhanced != "" {
			st.Enhanced = reason.Enhanced
		}
		st.Text += ": " + reason.Text
	}
	return st
}

// canStart reports whether d may start one more delivery.
func (d *dest) canStart() bool {
	return d.queue.len() > 0 && d.busy < int(d.window)
}

func (t *transport) markReady(d *dest) {
	if !d.inReady && d.canStart() {
		d.inReady = true
		t.ready.push(d)
	}
}

func (t *transport) canStart(now time.Time) bool {
	return (t.cfg.ProcessLimit <= 0 || t.busy < t.cfg.ProcessLimit) && !now.Before(t.unavailableUntil)
}

// Next returns what to do now: deferrals decided since the last call, then
// deliveries to start, taking turns between transports and, within a
// transport, between destinations. The slice is valid until the next call.
func (s *Sched) Next(now time.Time) []Action {
	s.expire(now)
	acts := append(s.buf[:0], s.out...)
	clear(s.out)
	s.out = s.out[:0]
	for started := true; started; {
		started = false
		for range len(s.order) {
			t := s.order[s.rr%len(s.order)]
			s.rr++
			if !t.canStart(now) {
				continue
			}
			if e := t.start(); e != nil {
				acts = append(acts, Action{Kind: ActDeliver, Entry: e})
				started = true
			}
		}
	}
	s.buf = acts
	return acts
}

// start takes the first entry of the next ready destination.
func (t *transport) start() *Entry {
	for t.ready.len() > 0 {
		d := t.ready.pop()
		d.inReady = false
		if !d.canStart() {
			continue
		}
		e := d.queue.pop()
		d.busy++
		t.busy++
		t.markReady(d) // to the back of the line: round robin
		return e
	}
	return nil
}

// Done reports the end of a delivery Next started.
func (s *Sched) Done(now time.Time, e *Entry, o Outcome, reason *dsn.Status) {
	d := e.dest
	t := d.t
	d.busy--
	t.busy--
	switch o {
	case Reached:
		d.failCohorts = 0
		d.window += t.cfg.PositiveFeedback.amount(d.window)
		if t.cfg.DestConcurrency > 0 {
			d.window = min(d.window, float64(t.cfg.DestConcurrency))
		}
	case Dead:
		d.reason = reason
		d.failCohorts += 1 / d.window
		d.window = max(1, d.window-t.cfg.NegativeFeedback.amount(d.window))
		if t.cfg.FailedCohortLimit > 0 && d.failCohorts >= float64(t.cfg.FailedCohortLimit) && !now.Before(d.suspendedUntil) {
			s.suspend(now, d)
		}
	case AgentDown:
		if !now.Before(t.unavailableUntil) {
			s.makeUnavailable(now, t, reason)
		}
	}
	t.markReady(d)
	s.forget(d)
}

// suspend stops deliveries to d for SuspendTime and defers what it holds.
func (s *Sched) suspend(now time.Time, d *dest) {
	d.suspendedUntil = now.Add(s.cfg.SuspendTime)
	st := suspended(d.reason)
	for d.queue.len() > 0 {
		s.out = append(s.out, Action{Kind: ActDefer, Entry: d.queue.pop(), Status: st})
	}
	heap.Push(&s.timers, timer{at: d.suspendedUntil, d: d})
}

// makeUnavailable stops deliveries by t for TransportRetryTime and defers
// what every destination of t holds.
func (s *Sched) makeUnavailable(now time.Time, t *transport, reason *dsn.Status) {
	t.unavailableUntil = now.Add(s.cfg.TransportRetryTime)
	t.reason = transportUnavailable
	if reason != nil {
		t.reason = &dsn.Status{Code: 450, Enhanced: "4.3.0", Text: transportUnavailable.Text + ": " + reason.Text}
	}
	for _, d := range t.dests {
		for d.queue.len() > 0 {
			s.out = append(s.out, Action{Kind: ActDefer, Entry: d.queue.pop(), Status: t.reason})
		}
		s.forget(d)
	}
	heap.Push(&s.timers, timer{at: t.unavailableUntil, t: t})
}

// expire ends suspensions whose time has come. A destination back from
// suspension that has deliveries still under way starts again at the
// initial window but keeps its failure count, so that one more failure
// suspends it again at once; an idle one is forgotten and starts afresh.
// (Unavailable transports need nothing here: canStart compares times.)
func (s *Sched) expire(now time.Time) {
	for s.timers.Len() > 0 && !now.Before(s.timers[0].at) {
		tm := heap.Pop(&s.timers).(timer)
		if d := tm.d; d != nil && d.suspendedUntil.Equal(tm.at) {
			d.suspendedUntil = time.Time{}
			d.window = d.t.initialWindow()
			s.forget(d)
		}
	}
}

// forget drops a destination that holds nothing: no queue, no delivery
// under way, not suspended. A suspended one is kept so that new mail for
// it defers at once.
func (s *Sched) forget(d *dest) {
	if d.queue.len() == 0 && d.busy == 0 && d.suspendedUntil.IsZero() {
		if d.t.dests[d.key] == d {
			delete(d.t.dests, d.key)
		}
	}
}

// Flush ends every suspension and transport unavailability (postqueue -f:
// the administrator says "try now").
func (s *Sched) Flush() {
	for _, t := range s.transports {
		t.unavailableUntil = time.Time{}
		for _, d := range t.dests {
			d.suspendedUntil = time.Time{}
			d.failCohorts = 0
			s.forget(d)
		}
	}
	s.timers = s.timers[:0]
}

// NextEvent is when Next may have something new to do without any other
// event: the end of the earliest suspension or unavailability.
func (s *Sched) NextEvent() (time.Time, bool) {
	if s.timers.Len() == 0 {
		return time.Time{}, false
	}
	return s.timers[0].at, true
}

// Busy is how many deliveries are under way for a transport.
func (s *Sched) Busy(transportName string) int {
	if t := s.transports[transportName]; t != nil {
		return t.busy
	}
	return 0
}

// Window is a destination's concurrency window, 0 when the scheduler holds
// nothing about it.
func (s *Sched) Window(transportName, nexthop string) float64 {
	if t := s.transports[transportName]; t != nil {
		if d := t.dests[strings.ToLower(nexthop)]; d != nil {
			return d.window
		}
	}
	return 0
}

// timer is the end of a suspension (d) or of an unavailability (t).
type timer struct {
	at time.Time
	d  *dest
	t  *transport
}

type timerHeap []timer

func (h timerHeap) Len() int           { return len(h) }
func (h timerHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h timerHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *timerHeap) Push(x any)        { *h = append(*h, x.(timer)) }
func (h *timerHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// fifo is a first-in first-out queue that reuses its storage.
type fifo[T any] struct {
	items []T
	head  int
}

func (q *fifo[T]) len() int { return len(q.items) - q.head }

func (q *fifo[T]) push(x T) {
	if q.head > 0 && q.head == len(q.items) {
		q.items, q.head = q.items[:0], 0
	}
	q.items = append(q.items, x)
}

func (q *fifo[T]) pop() T {
	var zero T
	x := q.items[q.head]
	q.items[q.head] = zero
	q.head++
	if q.head > 64 && q.head*2 > len(q.items) {
		n := copy(q.items, q.items[q.head:])
		clear(q.items[n:])
		q.items, q.head = q.items[:n], 0
	}
	return x
}
