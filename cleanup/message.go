package cleanup

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/postern-mta/postern/internal/dsn"
	"github.com/postern-mta/postern/internal/maillog"
	"github.com/postern-mta/postern/internal/proto"
	"github.com/postern-mta/postern/queue"
)

// sink is where a message goes: a *queue.Writer, or a recorder in tests.
type sink interface {
	SetEnvelope(e *queue.Envelope)
	Write(p []byte) (int, error)
	AddRecipient(r queue.Recipient)
}

// maxPending bounds the header text held back until the envelope is
// written (see message.write); a header section bigger than this gets its
// envelope written early, and a FILTER action after that point is logged
// and ignored.
const maxPending = 1 << 20

// message is one message going through cleanup: the envelope as it is
// rewritten, what the content checks decided, and the output.
type message struct {
	cfg *Config
	rw  *rewriter
	log *maillog.Logger
	ctx context.Context

	id      string
	open    *proto.CleanupOpen
	flags   uint32
	arrival time.Time
	hdrCtx  int    // rewrite context of header addresses (ctxNone, …)
	mapOK   bool   // address mapping is on (not CleanupNoRewrite)
	checks  bool   // content checks are on for this message
	origin  string // "host[addr]" or "local", for check logs

	out      sink
	envDone  bool
	env      queue.Envelope
	pending  []byte
	writeErr error

	sender    string
	rcpts     []queue.Recipient
	dups      map[string]bool
	firstRcpt string

	// Header facts.
	seen       uint64 // bit per hdrKind seen in the primary header
	resent     bool
	hops       int
	extracted  []string // -t: addresses of To/Cc/Bcc
	extractedR []string // -t: addresses of Resent-To/Cc/Bcc

	// What the checks decided.
	hold, discard bool
	reject        *dsn.Status
	redirect      string
	filter        string
	bccs          []string

	// fail is a temporary failure (a table that could not be read, an
	// alias expansion too big); the message is not accepted now.
	fail   *dsn.Status
	size   int64
	tooBig bool
}

func newMessage(ctx context.Context, c *Cleanup, o *proto.CleanupOpen) *message {
	m := &message{
		cfg:     c.cfg,
		rw:      c.rw,
		log:     c.log,
		ctx:     ctx,
		open:    o,
		flags:   o.Flags,
		arrival: o.Arrival,
		mapOK:   o.Flags&proto.CleanupNoRewrite == 0,
	}
	if m.arrival.IsZero() {
		m.arrival = time.Now()
	}
	m.checks = o.Flags&proto.CleanupNoChecks == 0 && c.cfg.checksConfigured()
	// Header addresses are completed like local mail's for local
	// submissions (unless sendmail -G said "remote") and for clients
	// local_header_rewrite_clients names; other mail's are left alone
	// unless remote_header_rewrite_domain is set.
	local := o.Flags&proto.CleanupLocal != 0
	rc := proto.Lookup(o.Attrs, proto.AttrRewriteContext)
	switch {
	case rc == "local" || local && rc == "":
		m.hdrCtx = ctxLocal
	case !local && c.cfg.LocalHeaderRewrite != nil && c.cfg.LocalHeaderRewrite(ctx, o.Attrs):
		m.hdrCtx = ctxLocal
	case c.cfg.RemoteHeaderRewriteDomain != "":
		m.hdrCtx = ctxRemote
	}
	m.origin = "local"
	if a := proto.Lookup(o.Attrs, proto.AttrClientAddr); a != "" && !local {
		name := proto.Lookup(o.Attrs, proto.AttrClientName)
		if name == "" {
			name = "unknown"
		}
		m.origin = name + "[" + a + "]"
	}
	return m
}

func (m *message) local() bool { return m.flags&proto.CleanupLocal != 0 }

// warnf logs a warning about this message.
func (m *message) warnf(format string, args ...any) {
	m.log.Warning("%s: %s", m.id, fmt.Sprintf(format, args...))
}

// tempFail records a temporary failure: the first one is what the
// client hears.
func (m *message) tempFail(st *dsn.Status) {
	if m.fail == nil {
		m.fail = st
	}
}

// prepare rewrites the envelope sender and recipients before any content
// is read, so that a table failure is answered at once.
func (m *message) prepare() {
	s, err := m.rw.sender(m.ctx, m.open.Sender, m.mapOK)
	if err != nil {
		m.warnf("sender address rewriting lookup problem for %s -- message not accepted, try again later", m.open.Sender)
		m.tempFail(errTable.Wrap(err))
	}
	m.sender = s
	for _, r := range m.open.Recipients {
		orig := r.Orig
		if orig == "" {
			orig = r.Addr
		}
		m.recipient(r.Addr, orig, r.Notify, r.ORCPT, true)
	}
}

// recipient rewrites one envelope recipient, expands it through
// virtual_alias_maps and adds the result; with bcc, recipient_bcc_maps
// may add blind copies.
func (m *message) recipient(a, orig, notify, orcpt string, bcc bool) {
	if m.fail != nil {
		return // the message is not accepted anyway
	}
	r, err := m.rw.recipient(m.ctx, a, m.mapOK)
	if err != nil {
		m.warnf("recipient address rewriting lookup problem for %s -- message not accepted, try again later", a)
		m.tempFail(errTable.Wrap(err))
		return
	}
	if m.firstRcpt == "" {
		m.firstRcpt = r
	}
	list := []string{r}
	if m.mapOK {
		list, err = m.rw.virtual(m.ctx, r, func(s string) { m.warnf("%s", s) })
		if err != nil {
			m.tempFail(dsn.FromError(err))
			return
		}
	}
	if !m.cfg.EnableOriginalRecipient {
		orig = ""
	}
	for _, t := range list {
		m.addRcpt(queue.Recipient{Addr: t, Orig: orig, Notify: notify, ORCPT: orcpt})
	}
	if bcc && m.mapOK && m.cfg.RecipientBcc != nil {
		targets, found, err := m.rw.lookup(m.ctx, m.cfg.RecipientBcc, r, false)
		if err != nil {
			m.warnf("recipient_bcc_maps lookup problem for %s -- message not accepted, try again later", r)
			m.tempFail(errTable.Wrap(err))
			return
		}
		if found {
			m.bccs = append(m.bccs, targets...)
		}
	}
}

// addRcpt adds a final recipient unless the same one (same address,
// original address and DSN settings) is already there.
func (m *message) addRcpt(r queue.Recipient) {
	if r.Addr == "" && r.Orig == "" {
		return
	}
	if len(m.dups) < m.cfg.DupFilterLimit || m.cfg.DupFilterLimit == 0 {
		key := strings.ToLower(r.Addr) + "\x00" + r.Orig + "\x00" + r.Notify + "\x00" + r.ORCPT
		if m.dups == nil {
			m.dups = make(map[string]bool)
		}
		if m.dups[key] {
			return
		}
		m.dups[key] = true
	}
	m.rcpts = append(m.rcpts, r)
}

// write outputs message content. Until the envelope is written (at the
// end of the primary header) the text is held back, so that what the
// header checks decide (FILTER) can still go into the envelope.
func (m *message) write(b []byte) {
	if m.writeErr != nil || m.dropping() {
		return
	}
	if !m.envDone {
		m.pending = append(m.pending, b...)
		if len(m.pending) > maxPending {
			m.writeEnvelope()
		}
		return
	}
	if _, err := m.out.Write(b); err != nil {
		m.writeErr = err
	}
}

func (m *message) writeString(s string) { m.write([]byte(s)) }

// dropping reports whether output is no longer needed: the message will
// not be queued. A local submission that is rejected keeps its content,
// which goes back to the sender.
func (m *message) dropping() bool {
	if m.fail != nil || m.tooBig || m.discard {
		return true
	}
	return m.reject != nil && !m.bounceOnReject()
}

func (m *message) bounceOnReject() bool {
	return m.flags&proto.CleanupBounceOnReject != 0 && m.reject != nil && m.reject.Permanent()
}

// writeEnvelope writes the envelope and the content held back.
func (m *message) writeEnvelope() {
	if m.envDone {
		return
	}
	m.envDone = true
	e := &m.env
	e.Arrival = m.arrival
	e.Sender = m.sender
	e.FullName = m.open.FullName
	e.DSNRet = m.open.DSNRet
	e.DSNEnvID = m.open.DSNEnvID
	if m.reject != nil && m.bounceOnReject() {
		e.DSNRet = "HDRS" // a refused message goes back as headers only
	}
	for _, a := range m.open.Attrs {
		if a.Name == "" || strings.IndexByte(a.Name, '=') >= 0 || a.Name == attrFilter || a.Name == attrReceiverFilter {
			continue
		}
		e.Attrs = append(e.Attrs, queue.Attr{Name: a.Name, Value: a.Value})
	}
	if m.local() && proto.Lookup(m.open.Attrs, proto.AttrRewriteContext) == "" {
		e.Attrs = append(e.Attrs, queue.Attr{Name: proto.AttrRewriteContext, Value: "local"})
	}
	if f := m.contentFilter(); f != "" {
		e.Attrs = append(e.Attrs, queue.Attr{Name: attrFilter, Value: f})
	}
	if m.cfg.DelayWarning > 0 {
		e.WarnTime = m.arrival.Add(m.cfg.DelayWarning)
	}
	if m.flags&proto.CleanupVerify != 0 {
		e.Flags |= queue.FlagVerify
	}
	if m.flags&proto.CleanupTrace != 0 {
		e.Flags |= queue.FlagTrace
	}
	m.out.SetEnvelope(e)
	if len(m.pending) > 0 && !m.dropping() {
		if _, err := m.out.Write(m.pending); err != nil {
			m.writeErr = err
		}
	}
	m.pending = nil
}

// The content filter of a message is the queue file attribute "filter",
// "transport:nexthop": qmgr sends the message there instead of to its
// recipients' transports (content_filter(5)).
const attrFilter = "filter"

// attrReceiverFilter is how a receiving service states its own
// content_filter (its main.cf value or its master.cf -o override; empty
// for none). When present it replaces cleanup's content_filter, as in
// Postfix, where the receiving service, not cleanup, decides — which is
// what makes "-o content_filter=" on the service that takes filtered
// mail back work. It is not stored under this name.
const attrReceiverFilter = proto.AttrContentFilter

// contentFilter decides the message's content filter. As in Postfix,
// the last valid choice wins: the content_filter of the service that
// received the message (the content_filter attribute the submitter
// states, else cleanup's own), then a FILTER action of smtpd's access
// tables (the submitter's "filter" attributes), then a FILTER action of
// header or body checks. Mail the mail system makes itself (bounces, and
// mail local forwards) gets no content_filter: in Postfix only smtpd,
// qmqpd and pickup apply it. A requeued message (postsuper -r) is
// filtered anew: the filter it had is dropped. A value without a ":" is
// logged and ignored.
func (m *message) contentFilter() string {
	filter := ""
	use := func(v, what string) {
		switch v = strings.TrimSpace(v); {
		case v == "":
		case !strings.Contains(v, ":"):
			m.warnf("ignoring invalid content filter from %s: %s", what, v)
		default:
			filter = v
		}
	}
	stated, haveStated := "", false
	for _, a := range m.open.Attrs {
		if a.Name == attrReceiverFilter {
			stated, haveStated = a.Value, true
		}
	}
	switch {
	case haveStated:
		use(stated, m.open.Source)
	case m.open.Source != "bounce" && m.open.Source != "local":
		use(m.cfg.ContentFilter, "content_filter")
	}
	if m.open.Source != "postsuper" {
		for _, a := range m.open.Attrs {
			if a.Name == attrFilter {
				use(a.Value, m.open.Source)
			}
		}
	}
	use(m.filter, "FILTER action")
	return filter
}
