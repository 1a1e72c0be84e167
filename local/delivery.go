package local

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/postern-mta/postern/internal/agent"
	"github.com/postern-mta/postern/internal/dsn"
	"github.com/postern-mta/postern/internal/privexec"
	"github.com/postern-mta/postern/internal/proto"
	"github.com/postern-mta/postern/queue"
)

// message is one delivery request being worked on.
type message struct {
	a     *Agent
	req   *proto.DeliverRequest
	file  *queue.File
	loops map[string]bool // Delivered-To addresses already in the message
	start time.Time
	dup   *dupFilter // what was delivered already, across the request
}

func (m *message) verify() bool { return m.req.Flags&proto.DeliverVerify != 0 }

// state is where a recipient stands in the expansion tree. It is passed
// by value: a branch changes its own copy.
type state struct {
	level     int
	addr      string // the address being delivered (canonical)
	local     string // its local part, lower-cased, with the extension
	user      string // the local part without the extension
	ext       string
	domain    string
	delivered string    // the Delivered-To address
	owner     string    // a list's owner- address, or the forwarding user
	sender    string    // the envelope sender of forwarded copies
	expFrom   string    // the alias or user whose expansion this is
	expType   expansion // where the address came from (0: the queue file)
	notify    string    // DSN NOTIFY of forwarded copies
	listOwned bool      // an owner- alias replaced the sender: DSN data stays behind
}

// userAttr are the rights and environment of deliveries to commands and
// files: the recipient's, an alias file owner's, or none (set false).
type userAttr struct {
	set   bool
	uid   uint32
	gid   uint32
	home  string
	name  string
	shell string
}

func attrOf(u *User) userAttr {
	return userAttr{set: true, uid: u.UID, gid: u.GID, home: u.Home, name: u.Name, shell: u.Shell}
}

// delivery is one recipient of the request and everything its expansion
// produced.
type delivery struct {
	m        *message
	rcpt     *proto.DeliverRcpt
	origTo   string // X-Original-To and orig_to=: the recipient as received
	leaves   []leaf
	forwards []forwardGroup
	expanded bool // an alias, .forward or :include: was used
	steps    int  // addresses visited, bounded by maxSteps
}

// leaf is one final outcome: a mailbox, file or command written, an
// address forwarded, a failure.
type leaf struct {
	to      string
	st      *dsn.Status // its Text is the log's "(reason)"
	action  string
	logged  bool // logged already (by us, or by the agent it was passed to)
	forward bool // waits for the forwarded message to be queued
}

// deliverTop delivers one recipient of the request.
func (m *message) deliverTop(ctx context.Context, r *proto.DeliverRcpt) proto.RcptResult {
	d := &delivery{m: m, rcpt: r, origTo: r.Orig}
	if d.origTo == "" {
		d.origTo = r.Addr
	}
	s := state{addr: r.Addr, sender: m.req.Sender, notify: r.Notify}
	d.recipient(ctx, s, userAttr{})
	d.finishForwards(ctx)
	return d.result()
}

// sent records a success with its log text.
func (d *delivery) sent(s state, action, format string, args ...any) {
	st := dsn.OK("2.0.0", format, args...)
	d.add(leaf{to: s.addr, st: st, action: action})
}

// fail records a failure: enhanced is 4.x.x (defer) or 5.x.x (bounce).
func (d *delivery) fail(s state, enhanced, format string, args ...any) {
	d.failStatus(s, agent.Status(enhanced, fmt.Sprintf(format, args...)))
}

func (d *delivery) failStatus(s state, st *dsn.Status) {
	if d.m.a.cfg.SoftBounce && st.Permanent() {
		st = st.Soften()
	}
	action := proto.ActionDelayed
	if st.Permanent() {
		action = proto.ActionFailed
	}
	d.add(leaf{to: s.addr, st: st, action: action})
}

// add records a leaf and logs it unless it waits for a forward.
func (d *delivery) add(l leaf) {
	if !l.forward && !l.logged {
		d.logLeaf(&l)
	}
	d.leaves = append(d.leaves, l)
}

// logLeaf writes the "to=<…>, relay=local, …, status=sent (…)" line.
func (d *delivery) logLeaf(l *leaf) {
	m := d.m
	m.a.log.Delivery(agent.DeliveryLine(m.req, l.to, d.origTo, m.a.cfg.Service, l.st, m.start))
	l.logged = true
}

// result combines the leaves into the recipient's answer to qmgr: any
// delay makes the recipient delayed (it is tried again as a whole), else
// any failure makes it failed, else it succeeded.
func (d *delivery) result() proto.RcptResult {
	relay := d.m.a.cfg.Service
	var worst *leaf
	for i := range d.leaves {
		l := &d.leaves[i]
		switch {
		case worst == nil:
			worst = l
		case l.st.Temporary() && !worst.st.Temporary():
			worst = l
		case l.st.Permanent() && worst.st.Success():
			worst = l
		}
	}
	if worst == nil {
		// Every branch was a duplicate of something already delivered.
		st := dsn.OK("2.0.0", "duplicate delivery suppressed")
		return proto.RcptResult{Status: st, Action: proto.ActionDelivered, Reason: st.Text, Relay: relay}
	}
	action := worst.action
	if worst.st.Success() && (d.expanded || len(d.leaves) > 1) {
		action = proto.ActionExpanded
	}
	return proto.RcptResult{
		Status:   worst.st,
		Action:   action,
		Reason:   worst.st.Text,
		DiagType: "X-Postfix",
		Diag:     worst.st.Text,
		Relay:    relay,
	}
}

// statusOf copies a status from elsewhere, making sure it has an enhanced
// code (4.3.0 when it had none: unknown failures are temporary).
func statusOf(st *dsn.Status) *dsn.Status {
	enh := st.Enhanced
	if !dsn.IsEnhanced(enh) {
		enh = "4.3.0"
		switch st.Class() {
		case 2:
			enh = "2.0.0"
		case 5:
			enh = "5.0.0"
		}
	}
	return agent.Status(enh, st.Text)
}

// dupFilter remembers what a request delivered to, so that an address
// reached twice through aliases gets one copy. Past its limit it
// remembers nothing more (duplicate_filter_limit).
type dupFilter struct {
	seen  map[string]bool
	limit int
}

func newDupFilter(limit int) *dupFilter { return &dupFilter{seen: map[string]bool{}, limit: limit} }

// beenHere records key and reports whether it was there already.
func (f *dupFilter) beenHere(key string) bool {
	if f.seen[key] {
		return true
	}
	if f.limit <= 0 || len(f.seen) < f.limit {
		f.seen[key] = true
	}
	return false
}

// check reports whether key was recorded, without recording it.
func (f *dupFilter) check(key string) bool { return f.seen[key] }

// credFor gives the rights of a command or file delivery: the user's, or
// default_privs when there is no user or it is root.
func (d *delivery) credFor(u userAttr) *privexec.Cred {
	if !u.set || u.uid == 0 {
		c := d.m.a.cfg.DefaultPrivs
		return &c
	}
	return &privexec.Cred{UID: u.uid, GID: u.gid}
}

// dropSuccess removes SUCCESS from a DSN NOTIFY list, as for addresses an
// alias or .forward expands to: the expansion itself was the success.
func dropSuccess(notify string) string {
	if notify == "" || notify == "NEVER" {
		return notify
	}
	var kept []string
	for _, n := range strings.Split(notify, ",") {
		if !strings.EqualFold(strings.TrimSpace(n), "SUCCESS") {
			kept = append(kept, n)
		}
	}
	if len(kept) == 0 {
		return "NEVER"
	}
	return strings.Join(kept, ",")
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
