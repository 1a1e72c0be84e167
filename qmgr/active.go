package qmgr

import (
	"context"
	"errors"
	"io/fs"
	"strings"
	"time"

	"github.com/postern-mta/postern/internal/dsn"
	"github.com/postern-mta/postern/internal/proto"
	"github.com/postern-mta/postern/internal/resolve"
	"github.com/postern-mta/postern/queue"
)

// flagDelayWarned marks a message whose delay warning has been sent. The
// queue file format keeps the warning time in a record that cannot be
// cleared in place, so qmgr keeps this bit in the file's flags (SetFlags
// keeps bits it does not know), well away from the queue package's own.
const flagDelayWarned uint32 = 1 << 24

// message is a message in the active queue: its open file and what this
// round of deliveries has done with its recipients.
type message struct {
	id      string
	file    *queue.File
	env     *queue.Envelope
	arrival time.Time
	active  time.Time    // when it entered the active queue this time
	attrs   []proto.Attr // the envelope's attributes, for delivery requests
	rcpts   []rcptState  // parallel to env.Recipients
	routes  []route      // recipients to schedule, by transport and next hop
	// unrouted are recipients whose address could not be resolved now
	// (a table failed); they are deferred with resolveFailure.
	unrouted       []RcptRef
	resolveFailure *dsn.Status

	pending     int  // recipients scheduled and not yet settled this round
	deferred    int  // recipients deferred this round
	bounceLog   bool // a bounce log exists (bounce appended)
	traceLog    bool // a trace log exists
	deferLogged bool // this round appended to the defer log
	older       bool // tried before (deferred, left in active, recipients done): logs may exist from before
	flushed     bool // flushed by the administrator: defer_transports do not hold it
	forced      bool // postsuper -e: return to sender without trying
	verify      bool // sendmail -bv
	trace       bool // sendmail -v
	finishing   bool
}

// rcptState is what this round did with one recipient.
type rcptState struct {
	addr   string      // resolved address
	status *dsn.Status // deferral: the reason (for expiry)
	reason string
	remote remoteDiag // deferral: what the remote server said
}

// remoteDiag is what a delivery agent learnt from a remote server: its
// name and its reply, which a report about the recipient shows.
type remoteDiag struct {
	mta, diagType, diag string
}

// route is a message's recipients for one transport and next hop.
type route struct {
	transport, nexthop string
	rcpts              []RcptRef
}

// activator opens a message that has just been moved into active and
// resolves its recipients. It runs in the scanner, off the event loop.
type activator struct {
	q *qmgr
}

// activate moves message id from queue from into active and prepares it.
// It returns nil when there is nothing to schedule (the file went away, or
// was corrupt and set aside).
func (a activator) activate(ctx context.Context, id, from string) *message {
	q := a.q
	if err := q.layout.Move(id, from, queue.Active); err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			q.log.Warning("%s: %v", id, err)
		}
		return nil
	}
	path := q.layout.Path(queue.Active, id)
	f, err := queue.Open(path, true)
	if err != nil {
		a.setAside(id, from, err)
		return nil
	}
	env := &f.Envelope
	now := q.now()
	m := &message{
		id:      id,
		file:    f,
		env:     env,
		arrival: env.Arrival,
		active:  now,
		rcpts:   make([]rcptState, len(env.Recipients)),
		older:   from != queue.Incoming || q.recovered[id],
		forced:  env.Flags&queue.FlagForcedExpire != 0,
		verify:  env.Flags&queue.FlagVerify != 0,
		trace:   env.Flags&queue.FlagTrace != 0,
	}
	if m.arrival.IsZero() {
		m.arrival = now
	}
	for _, r := range env.Recipients {
		// Recipients already done: an earlier round, whose logs may
		// still be there.
		m.older = m.older || r.Done
	}
	for _, at := range env.Attrs {
		m.attrs = append(m.attrs, proto.Attr{Name: at.Name, Value: at.Value})
	}
	q.log.Info("%s: from=<%s>, size=%d, nrcpt=%d (queue active)", id, env.Sender, f.Size(), len(env.Recipients))
	if m.forced {
		// Returned to the sender with the reasons of its last attempt:
		// the defer log must stay.
		return m
	}
	// The defer log holds the reasons of the last attempt; this attempt
	// writes its own. Only a message tried before can have one.
	if m.older {
		if err := q.layout.RemoveLog(queue.Defer, id); err != nil {
			q.log.Warning("%s: %v", id, err)
		}
	}
	a.resolve(ctx, m)
	return m
}

// setAside deals with a file that cannot be opened: a corrupt one goes to
// corrupt/, anything else (out of descriptors, say) back where it came
// from for the next scan.
func (a activator) setAside(id, from string, err error) {
	q := a.q
	if errors.Is(err, queue.ErrCorrupt) {
		q.log.Warning("%v", err)
		q.log.Warning("saving corrupt file \"%s\" from queue \"%s\" to queue \"%s\"", id, queue.Active, queue.Corrupt)
		if err := q.layout.Move(id, queue.Active, queue.Corrupt); err != nil {
			q.log.Error("%s: %v", id, err)
		}
		return
	}
	q.log.Warning("%s: %v", id, err)
	if err := q.layout.Move(id, queue.Active, from); err != nil {
		q.log.Error("%s: %v", id, err)
	}
}

// resolve decides the transport and next hop of every recipient not yet
// done and groups them into routes, in the order of the file. A content
// filter overrides the resolver (filter.go), except for sendmail -bv,
// whose point is to see where the mail would go.
func (a activator) resolve(ctx context.Context, m *message) {
	q := a.q
	var filter *contentFilter
	if v := messageFilter(m.env.Attrs); v != "" && !m.verify {
		f, err := parseFilter(v)
		if err != nil {
			q.log.Warning("%s: %v", m.id, err)
			for i, r := range m.env.Recipients {
				if !r.Done {
					m.unrouted = append(m.unrouted, RcptRef{Index: i, Addr: r.Addr})
				}
			}
			m.resolveFailure = filterFailure
			return
		}
		filter = &f
	}
	byKey := map[string]int{}
	for i, r := range m.env.Recipients {
		if r.Done {
			continue
		}
		var res resolve.Result
		if filter != nil {
			res.Transport, res.Nexthop = filter.route(r.Addr, q.cfg.DefaultFilterNexthop, q.cfg.Resolve.MyHostname)
			res.Recipient = r.Addr
		} else {
			var err error
			if res, err = q.resolver.Resolve(ctx, r.Addr); err != nil {
				q.log.Warning("%s: resolve <%s>: %v", m.id, r.Addr, err)
				m.unrouted = append(m.unrouted, RcptRef{Index: i, Addr: r.Addr})
				m.resolveFailure = resolveFailure
				continue
			}
		}
		m.rcpts[i].addr = res.Recipient
		key := res.Transport + "\x00" + strings.ToLower(res.Nexthop)
		k, ok := byKey[key]
		if !ok {
			k = len(m.routes)
			byKey[key] = k
			m.routes = append(m.routes, route{transport: res.Transport, nexthop: res.Nexthop})
		}
		m.routes[k].rcpts = append(m.routes[k].rcpts, RcptRef{Index: i, Addr: res.Recipient})
	}
}

var resolveFailure = &dsn.Status{Code: 451, Enhanced: "4.3.0", Text: "address resolver failure"}

// logEntry is a recipient's outcome as the bounce service records it.
func (m *message) logEntry(i int, st *dsn.Status, action string, res *proto.RcptResult, now time.Time) proto.LogEntry {
	r := &m.env.Recipients[i]
	e := proto.LogEntry{
		Recipient: r.Addr,
		Orig:      r.Orig,
		Offset:    r.Offset,
		Notify:    r.Notify,
		ORCPT:     r.ORCPT,
		Status:    st,
		Action:    action,
		Reason:    st.Text,
		Time:      now,
	}
	if res != nil {
		e.Reason = res.Reason
		e.RemoteMTA = res.RemoteMTA
		e.DiagType = res.DiagType
		e.Diag = res.Diag
	}
	if e.Reason == "" {
		e.Reason = st.Text
	}
	return e
}

// wantsSuccessNotice reports whether recipient i asked for a DSN on
// success (NOTIFY=SUCCESS), or the whole message for a report (-v).
func (m *message) wantsSuccessNotice(i int) bool {
	return m.trace || strings.Contains(strings.ToUpper(m.env.Recipients[i].Notify), "SUCCESS")
}
