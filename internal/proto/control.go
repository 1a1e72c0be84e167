package proto

import (
	"context"
	"fmt"
	"time"
)

// qmgr listens on public/qmgr for wake-ups and flush requests, pickup on
// public/pickup for wake-ups. A wake-up is a hint: losing one delays mail
// by one scan, never loses it, so Nudge never blocks its caller for long.

// Control operations.
const (
	OpWakeup    = "wakeup"     // new mail may be waiting: scan now
	OpFlush     = "flush"      // postqueue -f: retry all deferred mail now
	OpFlushSite = "flush-site" // postqueue -s SITE / ETRN
	OpFlushID   = "flush-id"   // postqueue -i ID
)

// ControlRequest is a wake-up or flush request.
type ControlRequest struct {
	Op   string `json:"op"`
	Site string `json:"site,omitempty"`
	ID   string `json:"id,omitempty"`
}

// ControlReply answers a ControlRequest.
type ControlReply struct {
	Reply
	// Count is how many messages a flush moved back to be tried.
	Count int `json:"count"`
}

// Control sends one control request to service (qmgr or pickup) at path
// and waits for the answer.
func Control(ctx context.Context, path, service string, version int, req ControlRequest) (*ControlReply, error) {
	c, err := Dial(ctx, path, service, version)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	c.WithContext(ctx)
	if err := c.Send(req); err != nil {
		return nil, fmt.Errorf("send %s to %s: %w", req.Op, service, err)
	}
	var r ControlReply
	if err := c.Recv(&r); err != nil {
		return nil, fmt.Errorf("read %s's answer: %w", service, err)
	}
	if r.Status != nil {
		return &r, r.Status
	}
	return &r, nil
}

// Nudge sends a wake-up and does not wait long: a busy or absent service
// will scan on its own timer.
func Nudge(path, service string, version int) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, err := Control(ctx, path, service, version, ControlRequest{Op: OpWakeup})
	return err
}

// QueueEntry is one message in a queue listing, with Postfix's JSON field
// names (postqueue -j).
type QueueEntry struct {
	QueueName    string         `json:"queue_name"`
	QueueID      string         `json:"queue_id"`
	ArrivalTime  int64          `json:"arrival_time"`
	MessageSize  int64          `json:"message_size"`
	ForcedExpire bool           `json:"forced_expire"`
	Sender       string         `json:"sender"`
	Recipients   []QueueRcptRef `json:"recipients"`
}

// QueueRcptRef is one pending recipient in a listing.
type QueueRcptRef struct {
	Address     string `json:"address"`
	DelayReason string `json:"delay_reason,omitempty"`
}

// ShowqRequest asks showq for a listing. The server answers with one
// ShowqItem per message and a final item with Done set.
type ShowqRequest struct {
	// Queues narrows the listing; empty means every message queue.
	Queues []string `json:"queues,omitempty"`
}

// ShowqItem is one frame of a listing.
type ShowqItem struct {
	Entry *QueueEntry `json:"entry,omitempty"`
	Done  bool        `json:"done,omitempty"`
	Error string      `json:"error,omitempty"`
}

// Showq asks the showq service at path for a listing and calls fn for
// each message, in the order the service sends them.
func Showq(ctx context.Context, path string, req ShowqRequest, fn func(*QueueEntry) error) error {
	c, err := Dial(ctx, path, ServiceShowq, VersionShowq)
	if err != nil {
		return err
	}
	defer c.Close()
	c.WithContext(ctx)
	if err := c.Send(req); err != nil {
		return fmt.Errorf("ask showq for a listing: %w", err)
	}
	for {
		var it ShowqItem
		if err := c.Recv(&it); err != nil {
			return fmt.Errorf("read listing from showq: %w", err)
		}
		switch {
		case it.Error != "":
			return fmt.Errorf("showq: %s", it.Error)
		case it.Done:
			return nil
		case it.Entry != nil:
			if err := fn(it.Entry); err != nil {
				return err
			}
		}
	}
}
