package agent

import (
	"time"

	"github.com/postern-mta/postern/internal/dsn"
	"github.com/postern-mta/postern/internal/maillog"
	"github.com/postern-mta/postern/internal/proto"
)

// Status returns a delivery status whose SMTP code is the one of its
// enhanced code's class: 250, 450 or 550 (see dsn.Delivery).
func Status(enhanced, text string) *dsn.Status { return dsn.Delivery(enhanced, text) }

// StatusWord is the status= of a delivery line: sent, bounced or
// deferred, or for an address verification (sendmail -bv)
// deliverable or undeliverable.
func StatusWord(st *dsn.Status, verify bool) string {
	switch {
	case verify && st.Success():
		return "deliverable"
	case verify:
		return "undeliverable"
	case st.Success():
		return "sent"
	case st.Permanent():
		return "bounced"
	}
	return "deferred"
}

// DeliveryLine is the mail log line of st, the outcome for address to
// (origTo before any rewriting) of a delivery of req that started at
// start, through relay (the agent's service name).
func DeliveryLine(req *proto.DeliverRequest, to, origTo, relay string, st *dsn.Status, start time.Time) maillog.Delivery {
	now := time.Now()
	var delays [4]time.Duration
	if !req.Active.IsZero() {
		delays[0] = req.Active.Sub(req.Arrival)
		delays[1] = start.Sub(req.Active)
	}
	delays[3] = now.Sub(start)
	return maillog.Delivery{
		QueueID: req.QueueID,
		To:      to,
		OrigTo:  origTo,
		Relay:   relay,
		Delay:   now.Sub(req.Arrival),
		Delays:  delays,
		DSN:     st.Enhanced,
		Status:  StatusWord(st, req.Flags&proto.DeliverVerify != 0),
		Text:    st.Text,
	}
}

// Result is a recipient's answer to qmgr: failed for a permanent status,
// delayed for a temporary one, else success (proto.ActionDelivered or
// proto.ActionRelayed).
func Result(st *dsn.Status, success, relay string) proto.RcptResult {
	action := success
	switch {
	case st.Permanent():
		action = proto.ActionFailed
	case st.Temporary():
		action = proto.ActionDelayed
	}
	return proto.RcptResult{Status: st, Action: action, Reason: st.Text, DiagType: "X-Postfix", Diag: st.Text, Relay: relay}
}
