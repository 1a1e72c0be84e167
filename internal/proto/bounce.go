package proto

import (
	"context"
	"fmt"
	"time"

	"github.com/postern-mta/postern/internal/dsn"
)

// The bounce service keeps the per-message logs (bounce/ID, defer/ID,
// trace/ID) and turns them into reports sent through cleanup:
//
//	BounceAppend  add recipient outcomes to a message's log
//	BounceNotify  send the report a log calls for, then remove the log
//
// Both answer a Reply. A report that cannot be sent now answers a temporary
// Status; qmgr keeps the message and asks again later.

// Bounce operations.
const (
	BounceOpAppend = "append"
	BounceOpNotify = "notify"
)

// Log kinds, which are also the names of the log queues.
const (
	LogBounce = "bounce" // failed recipients, for the non-delivery report
	LogDefer  = "defer"  // delayed recipients, for mailq reasons and delay warnings
	LogTrace  = "trace"  // every outcome, for -v, -bv and NOTIFY=SUCCESS reports
)

// Report kinds for BounceNotify.
const (
	ReportBounce  = "bounce"  // non-delivery: reads bounce/ID
	ReportDelay   = "delay"   // delay warning: reads defer/ID
	ReportSuccess = "success" // NOTIFY=SUCCESS and -v: reads trace/ID
	ReportVerify  = "verify"  // sendmail -bv: reads trace/ID
)

// LogEntry is one recipient outcome in a log.
type LogEntry struct {
	Recipient string      `json:"rcpt"`
	Orig      string      `json:"orig,omitempty"`
	Offset    int64       `json:"offset,omitempty"`
	Notify    string      `json:"notify,omitempty"`
	ORCPT     string      `json:"orcpt,omitempty"`
	Status    *dsn.Status `json:"status"`
	Action    string      `json:"action"`
	Reason    string      `json:"reason"`
	RemoteMTA string      `json:"remote_mta,omitempty"`
	DiagType  string      `json:"diag_type,omitempty"`
	Diag      string      `json:"diag,omitempty"`
	Time      time.Time   `json:"time"`
}

// BounceRequest is one call to the bounce service.
type BounceRequest struct {
	Op      string     `json:"op"`
	Log     string     `json:"log,omitempty"`    // Append: which log
	Report  string     `json:"report,omitempty"` // Notify: which report
	Queue   string     `json:"queue"`            // where the message file is now
	QueueID string     `json:"queue_id"`
	Entries []LogEntry `json:"entries,omitempty"`
}

// BounceReply answers a BounceRequest.
type BounceReply struct {
	Status *dsn.Status `json:"status,omitempty"`
	// NoticeID is the queue ID of the report sent, if any.
	NoticeID string `json:"notice_id,omitempty"`
}

// BounceClient talks to the bounce service.
type BounceClient struct{ c *Conn }

// DialBounce connects to private/bounce.
func DialBounce(ctx context.Context, path string) (*BounceClient, error) {
	c, err := Dial(ctx, path, ServiceBounce, VersionBounce)
	if err != nil {
		return nil, err
	}
	return &BounceClient{c: c}, nil
}

// Close closes the connection.
func (b *BounceClient) Close() error { return b.c.Close() }

// Call sends a request and waits for the answer; a Status in the answer
// comes back as the error.
func (b *BounceClient) Call(ctx context.Context, req *BounceRequest) (*BounceReply, error) {
	b.c.WithContext(ctx)
	if err := b.c.Send(req); err != nil {
		return nil, fmt.Errorf("send %s request to bounce: %w", req.Op, err)
	}
	var r BounceReply
	if err := b.c.Recv(&r); err != nil {
		return nil, fmt.Errorf("read bounce's answer: %w", err)
	}
	if r.Status != nil {
		return &r, r.Status
	}
	return &r, nil
}
