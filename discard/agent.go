package discard

import (
	"context"
	"net"
	"time"

	agentskel "github.com/postern-mta/postern/internal/agent"
	"github.com/postern-mta/postern/internal/dsn"
	"github.com/postern-mta/postern/internal/maillog"
	"github.com/postern-mta/postern/internal/proto"
)

// retryService is the master.cf service name under which the error daemon
// defers instead of bouncing.
const retryService = "retry"

// mode is what an agent does with every recipient.
type mode int

const (
	modeDiscard mode = iota // report delivered
	modeBounce              // report failed (error)
	modeDefer               // report delayed (retry)
)

// agent answers delivery requests without delivering anything.
type agent struct {
	mode mode
	log  *maillog.Logger
	now  func() time.Time
}

// serve answers qmgr's requests on lns until ctx ends.
func (a *agent) serve(ctx context.Context, lns []net.Listener, maxProc int, grace time.Duration) error {
	return agentskel.Serve(ctx, lns, agentskel.Options{MaxProc: maxProc, Grace: grace, Log: a.log},
		func(_ context.Context, req *proto.DeliverRequest) *proto.DeliverReply { return a.deliver(req) })
}

// deliver gives every recipient of req the agent's outcome and logs it.
func (a *agent) deliver(req *proto.DeliverRequest) *proto.DeliverReply {
	st, action, status, text := a.outcome(req)
	verify := req.Flags&proto.DeliverVerify != 0
	if verify {
		status = "deliverable"
		if !st.Success() {
			status = "undeliverable"
		}
	}
	now := a.now()
	d := maillog.Delivery{
		QueueID: req.QueueID,
		Relay:   "none",
		Delay:   now.Sub(req.Arrival),
		Delays:  [4]time.Duration{req.Active.Sub(req.Arrival), now.Sub(req.Active)},
		DSN:     st.Enhanced,
		Status:  status,
		Text:    text,
	}
	reply := &proto.DeliverReply{Results: make([]proto.RcptResult, len(req.Recipients))}
	for i, r := range req.Recipients {
		d.To, d.OrigTo = r.Addr, r.Orig
		a.log.Delivery(d)
		reply.Results[i] = proto.RcptResult{
			Status:   st,
			Action:   action,
			Reason:   text,
			DiagType: "X-Postfix",
			Diag:     text,
			Relay:    "none",
		}
	}
	return reply
}

// outcome is the status, DSN action, log status and reason every
// recipient of req gets.
func (a *agent) outcome(req *proto.DeliverRequest) (st *dsn.Status, action, status, text string) {
	text = req.ErrorText
	if text == "" {
		text = req.Nexthop
	}
	switch a.mode {
	case modeDiscard:
		if text == "" {
			text = "discarded"
		}
		return dsn.OK("2.0.0", "%s", text), proto.ActionDelivered, "sent", text
	case modeDefer:
		st = statusOf(text, '4')
		return st, proto.ActionDelayed, "deferred", st.Text
	default:
		st = statusOf(text, '5')
		return st, proto.ActionFailed, "bounced", st.Text
	}
}

// statusOf reads "X.Y.Z text" from an error: or retry: entry and gives it
// the class the service stands for: an error entry always bounces and a
// retry entry always defers, whatever code the entry was written with.
func statusOf(text string, class byte) *dsn.Status {
	if text == "" {
		text = "Address is undeliverable"
	}
	st, ok := dsn.Parse(text)
	if !ok || st.Enhanced == "" {
		st = &dsn.Status{Enhanced: string(class) + ".0.0", Text: text}
	}
	if st.Text == "" {
		st.Text = text
	}
	st.Enhanced = string(class) + st.Enhanced[1:]
	st.Code = 550
	if class == '4' {
		st.Code = 450
	}
	return st
}
