package virtual

import (
	"context"
	"fmt"
	"io"
	"net"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/postern-mta/postern/internal/agent"
	"github.com/postern-mta/postern/internal/dsn"
	"github.com/postern-mta/postern/internal/maillog"
	"github.com/postern-mta/postern/internal/maps"
	"github.com/postern-mta/postern/internal/privexec"
	"github.com/postern-mta/postern/internal/privexec/mailbox"
	"github.com/postern-mta/postern/internal/proto"
	"github.com/postern-mta/postern/queue"
)

// Config is everything the agent uses, read once by Serve from main.cf.
type Config struct {
	Service    string // master.cf service name: relay= in the log
	QueueDir   string
	HashQueues []string
	HashDepth  int
	Grace      time.Duration
	IdleLimit  time.Duration
	Hostname   string // the system's host name, for Maildir file names

	MailboxBase        string     // virtual_mailbox_base
	MailboxMaps        maps.Table // virtual_mailbox_maps; nil: none
	UIDMaps, GIDMaps   maps.Table // virtual_uid_maps, virtual_gid_maps
	MinimumUID         int64      // virtual_minimum_uid
	MailboxLimit       int64      // virtual_mailbox_limit (0: none)
	Locking            mailbox.Locking
	RecipientDelimiter string
	HeaderSizeLimit    int64
	SoftBounce         bool
	StepTimeout        time.Duration // one mailbox write

	// Runner runs the writes as the mailbox owner; nil starts "postern
	// privexec".
	Runner *privexec.Runner
}

// Agent is the virtual delivery agent.
type Agent struct {
	cfg    Config
	log    *maillog.Logger
	layout *queue.Layout
	runner *privexec.Runner
	ownRun bool
}

// NewAgent prepares an agent.
func NewAgent(cfg Config, log *maillog.Logger) *Agent {
	a := &Agent{cfg: cfg, log: log, layout: queue.NewLayout(cfg.QueueDir, cfg.HashQueues, cfg.HashDepth), runner: cfg.Runner}
	if a.runner == nil {
		a.runner = &privexec.Runner{}
		a.ownRun = true
	}
	return a
}

// Close ends the agent's helper processes.
func (a *Agent) Close() {
	if a.ownRun {
		a.runner.Close()
	}
}

// Serve answers delivery requests on lns (at most maxProc at once) until
// ctx ends; deliveries under way then get cfg.Grace to finish.
func (a *Agent) Serve(ctx context.Context, lns []net.Listener, maxProc int) error {
	return agent.Serve(ctx, lns, agent.Options{MaxProc: maxProc, Grace: a.cfg.Grace, IdleLimit: a.cfg.IdleLimit, Log: a.log}, a.Deliver)
}

// Deliver delivers one request, each recipient to its mailbox.
func (a *Agent) Deliver(ctx context.Context, req *proto.DeliverRequest) *proto.DeliverReply {
	qf, err := queue.Open(a.layout.Path(req.Queue, req.QueueID), false)
	if err != nil {
		a.log.Warning("%s: %v", req.QueueID, err)
		return &proto.DeliverReply{Status: dsn.Temp("4.3.0", "cannot read queue file")}
	}
	defer qf.Close()
	loops, err := mailbox.DeliveredTo(qf.Content(), a.cfg.HeaderSizeLimit)
	if err != nil {
		a.log.Warning("%s: read message headers: %v", req.QueueID, err)
		return &proto.DeliverReply{Status: dsn.Temp("4.3.0", "cannot read queue file")}
	}
	start := time.Now()
	reply := &proto.DeliverReply{Results: make([]proto.RcptResult, len(req.Recipients))}
	for i := range req.Recipients {
		r := &req.Recipients[i]
		st := a.deliverOne(ctx, req, qf, loops, r)
		if a.cfg.SoftBounce && st.Permanent() {
			st = st.Soften()
		}
		a.log.Delivery(agent.DeliveryLine(req, r.Addr, r.Orig, a.cfg.Service, st, start))
		reply.Results[i] = agent.Result(st, proto.ActionDelivered, a.cfg.Service)
	}
	return reply
}

// deliverOne delivers to one recipient's mailbox and returns the status
// whose text is the log's reason.
func (a *Agent) deliverOne(ctx context.Context, req *proto.DeliverRequest, qf *queue.File, loops map[string]bool, r *proto.DeliverRcpt) *dsn.Status {
	cfg := &a.cfg
	rcpt := strings.ToLower(r.Addr)
	if loops[rcpt] {
		return agent.Status("5.4.6", "mail forwarding loop for "+r.Addr)
	}
	opt := maps.AddrOptions{Style: maps.StyleVirtual, Delimiter: cfg.RecipientDelimiter}
	box, err := a.lookup(ctx, cfg.MailboxMaps, rcpt, opt)
	if err != nil {
		a.log.Warning("%s: %v", req.QueueID, err)
		return agent.Status("4.3.0", err.Error())
	}
	if box == "" {
		return agent.Status("5.1.1", `unknown user: "`+rcpt+`"`)
	}
	verify := req.Flags&proto.DeliverVerify != 0
	if !filepath.IsAbs(cfg.MailboxBase) {
		a.log.Warning("do not specify relative pathname: virtual_mailbox_base = %s", cfg.MailboxBase)
		return agent.Status("4.3.5", "mail system configuration error")
	}
	clean := path.Clean("/" + box)
	if clean != "/"+strings.TrimSuffix(box, "/") && clean+"/" != "/"+box {
		a.log.Warning("%s: mailbox %q of %s in %s is not a plain relative path", req.QueueID, box, rcpt, cfg.MailboxMaps.Name())
		return agent.Status("4.3.5", "mail system configuration error")
	}
	target := filepath.Join(cfg.MailboxBase, clean)
	uid, st := a.number(ctx, cfg.UIDMaps, "uid", rcpt, opt)
	if st != nil {
		return st
	}
	if uid < cfg.MinimumUID {
		return agent.Status("4.3.5", fmt.Sprintf("recipient %s: bad uid %d in %s (below virtual_minimum_uid = %d)", rcpt, uid, cfg.UIDMaps.Name(), cfg.MinimumUID))
	}
	gid, st := a.number(ctx, cfg.GIDMaps, "gid", rcpt, opt)
	if st != nil {
		return st
	}
	if gid <= 0 {
		return agent.Status("4.3.5", fmt.Sprintf("recipient %s: bad gid %d in %s", rcpt, gid, cfg.GIDMaps.Name()))
	}
	cred := &privexec.Cred{UID: uint32(uid), GID: uint32(gid)}
	orig := r.Orig
	if orig == "" {
		orig = r.Addr
	}
	content := qf.Content()
	if strings.HasSuffix(box, "/") {
		if verify {
			return dsn.OK("2.0.0", "delivers to maildir")
		}
		msg := formatted(content, mailbox.Maildir(req.Sender, orig, r.Addr))
		defer msg.Close()
		out, err := mailbox.DeliverMaildir(ctx, a.runner, cred, mailbox.MaildirParams{
			Dir: target + "/", Hostname: cfg.Hostname, SizeLimit: cfg.MailboxLimit,
		}, msg, cfg.StepTimeout)
		if err != nil {
			a.log.Warning("%s: maildir %s: %v", req.QueueID, target, err)
			return agent.Status("4.3.0", "maildir delivery failed: cannot run the delivery as the mailbox owner")
		}
		a.warnings(out.Warnings)
		if out.Status != nil {
			return agent.Status(out.Status.Enhanced, "maildir delivery failed: "+out.Status.Text)
		}
		return dsn.OK("2.0.0", "delivered to maildir")
	}
	if verify {
		return dsn.OK("2.0.0", "delivers to mailbox")
	}
	msg := formatted(content, mailbox.Mbox(req.Sender, orig, r.Addr, time.Now()))
	defer msg.Close()
	out, err := mailbox.DeliverMbox(ctx, a.runner, cred, mailbox.MboxParams{
		Path: target, Locking: cfg.Locking, Create: true, SizeLimit: cfg.MailboxLimit,
	}, msg, cfg.StepTimeout)
	if err != nil {
		a.log.Warning("%s: mailbox %s: %v", req.QueueID, target, err)
		return agent.Status("4.3.0", "cannot update mailbox "+target+" for user "+rcpt+". cannot run the delivery as the mailbox owner")
	}
	a.warnings(out.Warnings)
	if out.Status != nil {
		return agent.Status(out.Status.Enhanced, "cannot update mailbox "+target+" for user "+rcpt+". "+out.Status.Text)
	}
	return dsn.OK("2.0.0", "delivered to mailbox")
}

// lookup finds rcpt in t with virtual(5)'s order; "" when not found.
func (a *Agent) lookup(ctx context.Context, t maps.Table, rcpt string, opt maps.AddrOptions) (string, error) {
	if t == nil {
		return "", nil
	}
	res, err := maps.LookupAddress(ctx, t, rcpt, opt)
	if err != nil {
		return "", fmt.Errorf("%s: lookup %s: %w", t.Name(), rcpt, err)
	}
	if !res.Found {
		return "", nil
	}
	return strings.TrimSpace(res.Value), nil
}

// number looks up a uid or gid; a failure is a deferral with a reason
// that names the table.
func (a *Agent) number(ctx context.Context, t maps.Table, what, rcpt string, opt maps.AddrOptions) (int64, *dsn.Status) {
	if t == nil {
		return 0, agent.Status("4.3.5", fmt.Sprintf("recipient %s: %s not found: virtual_%s_maps is empty", rcpt, what, what))
	}
	v, err := a.lookup(ctx, t, rcpt, opt)
	if err != nil {
		return 0, agent.Status("4.3.0", err.Error())
	}
	if v == "" {
		return 0, agent.Status("4.3.5", fmt.Sprintf("recipient %s: %s not found in %s", rcpt, what, t.Name()))
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 || n > 1<<32-1 {
		return 0, agent.Status("4.3.5", fmt.Sprintf("recipient %s: bad %s %s in %s", rcpt, what, v, t.Name()))
	}
	return n, nil
}

func (a *Agent) warnings(ws []string) {
	for _, w := range ws {
		a.log.Warning("%s", w)
	}
}

// formatted returns content laid out as o says, produced as it is read.
func formatted(content io.Reader, o mailbox.CopyOptions) io.ReadCloser {
	pr, pw := io.Pipe()
	go func() {
		_, err := mailbox.Copy(pw, content, o)
		pw.CloseWithError(err)
	}()
	return pr
}
