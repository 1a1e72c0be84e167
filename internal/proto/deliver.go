package proto

import (
	"context"
	"fmt"
	"time"

	"github.com/postern-mta/postern/internal/dsn"
)

// Delivery agents (smtp, lmtp, local, virtual, pipe, error, discard) serve
// one request at a time per connection:
//
//	qmgr  → DeliverRequest   (a message and a batch of its recipients)
//	agent → DeliverReply     (one result per recipient, same order)
//
// The agent reads the queue file itself (read-only) and logs each
// recipient's outcome ("QID: to=<…>, relay=…, status=sent (…)"). It never
// changes the queue file: qmgr marks recipients done once the reply says
// the delivery is durable, and hands failures to bounce.

// Deliver request flags.
const (
	// DeliverVerify: sendmail -bv — find out what would happen, deliver
	// nothing, report "deliverable"/"undeliverable".
	DeliverVerify uint32 = 1 << iota
	// DeliverTrace: sendmail -v — also report successful deliveries.
	DeliverTrace
)

// DeliverRcpt is one recipient in a request.
type DeliverRcpt struct {
	Addr   string `json:"addr"`
	Orig   string `json:"orig,omitempty"`
	Notify string `json:"notify,omitempty"`
	ORCPT  string `json:"orcpt,omitempty"`
	Offset int64  `json:"offset"` // the recipient record, for qmgr; agents pass it through
}

// DeliverRequest asks an agent to deliver one message to some recipients,
// all of one transport and nexthop.
type DeliverRequest struct {
	Queue      string        `json:"queue"` // queue name the file is in (active)
	QueueID    string        `json:"queue_id"`
	Transport  string        `json:"transport"` // master.cf service name
	Nexthop    string        `json:"nexthop"`   // "[host]:port", "domain", "local host name"…
	Sender     string        `json:"sender"`
	Recipients []DeliverRcpt `json:"rcpts"`
	Arrival    time.Time     `json:"arrival"`
	// Active is when the message entered the active queue; with Arrival and
	// the agent's own clock it gives delays=a/b/c/d.
	Active   time.Time `json:"active"`
	Size     int64     `json:"size"`
	DSNRet   string    `json:"dsn_ret,omitempty"`
	DSNEnvID string    `json:"dsn_envid,omitempty"`
	Attrs    []Attr    `json:"attrs,omitempty"` // client info, for pipe macros and command environments
	Flags    uint32    `json:"flags,omitempty"`
	// ErrorText is the text of an "error:" or "retry:" transport entry
	// ("5.1.1 no such user"), for the error agent.
	ErrorText string `json:"error_text,omitempty"`
}

// Actions in a result, as DSN says them.
const (
	ActionDelivered = "delivered" // final delivery (mailbox, maildir, file, command)
	ActionRelayed   = "relayed"   // handed to another MTA
	ActionExpanded  = "expanded"  // forwarded / aliased to other addresses
	ActionFailed    = "failed"    // bounce
	ActionDelayed   = "delayed"   // defer
)

// RcptResult is one recipient's outcome.
type RcptResult struct {
	Status *dsn.Status `json:"status"` // 2.x.x, 4.x.x or 5.x.x
	Action string      `json:"action"`
	// Reason is the human text as logged and shown by mailq:
	// "host mx[1.2.3.4] said: 550 5.1.1 …(in reply to RCPT TO command)".
	Reason    string `json:"reason"`
	RemoteMTA string `json:"remote_mta,omitempty"` // "mx.example.test" (DSN Remote-MTA)
	DiagType  string `json:"diag_type,omitempty"`  // "smtp" for a remote reply, else "X-Postfix"
	Diag      string `json:"diag,omitempty"`       // the remote reply text or our own diagnostic
	// Relay is what the agent logged as relay= (for qmgr's destination
	// bookkeeping and the trace report).
	Relay string `json:"relay,omitempty"`
}

// DeliverReply answers a DeliverRequest: Results[i] is about
// Recipients[i]. A Status outside the results says the whole request failed
// before any recipient was tried (the agent could not read the file, say);
// qmgr then defers every recipient with it.
type DeliverReply struct {
	Results []RcptResult `json:"results"`
	Status  *dsn.Status  `json:"status,omitempty"`
	// DestinationDead tells qmgr the destination itself failed (could not
	// connect, greeting refused), not just these recipients, so it may
	// suspend the destination for a while.
	DestinationDead bool `json:"destination_dead,omitempty"`
}

// DeliverClient sends requests to one agent over one connection.
type DeliverClient struct{ c *Conn }

// DialDeliver connects to a transport's socket (private/TRANSPORT).
func DialDeliver(ctx context.Context, path string) (*DeliverClient, error) {
	c, err := Dial(ctx, path, ServiceDeliver, VersionDeliver)
	if err != nil {
		return nil, err
	}
	return &DeliverClient{c: c}, nil
}

// Close closes the connection.
func (d *DeliverClient) Close() error { return d.c.Close() }

// Deliver sends one request and waits for its reply. timeout bounds the
// whole delivery (the agent's own limits should end it first).
func (d *DeliverClient) Deliver(ctx context.Context, req *DeliverRequest, timeout time.Duration) (*DeliverReply, error) {
	d.c.WithContext(ctx)
	d.c.Timeout = timeout
	if err := d.c.Send(req); err != nil {
		return nil, fmt.Errorf("send request to %s: %w", req.Transport, err)
	}
	var r DeliverReply
	if err := d.c.Recv(&r); err != nil {
		return nil, fmt.Errorf("read reply from %s: %w", req.Transport, err)
	}
	if r.Status == nil && len(r.Results) != len(req.Recipients) {
		return nil, fmt.Errorf("%w: %s answered %d results for %d recipients", ErrProtocol, req.Transport, len(r.Results), len(req.Recipients))
	}
	return &r, nil
}
