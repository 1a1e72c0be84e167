package qmgr

import (
	"context"
	"errors"
	"fmt"

	"github.com/postern-mta/postern/internal/proto"
)

// The bounce daemon keeps the per-message logs and sends reports. qmgr
// reaches it under three service names, as Postfix does, so that an
// administrator may run them apart: bounce (failures and non-delivery
// reports), defer (delays and delay warnings) and trace (deliveries, for
// -v, -bv and NOTIFY=SUCCESS reports).

// logService is the service that keeps a log kind.
func (q *qmgr) logService(kind string) string {
	switch kind {
	case proto.LogDefer, proto.ReportDelay:
		return q.cfg.DeferService
	case proto.LogTrace, proto.ReportSuccess, proto.ReportVerify:
		return q.cfg.TraceService
	}
	return q.cfg.BounceService
}

// appendLog adds recipient outcomes to one of a message's logs.
func (q *qmgr) appendLog(ctx context.Context, kind string, m *message, entries []proto.LogEntry) error {
	if len(entries) == 0 {
		return nil
	}
	_, err := q.bounceCall(ctx, q.logService(kind), &proto.BounceRequest{
		Op: proto.BounceOpAppend, Log: kind, Queue: "active", QueueID: m.id, Entries: entries,
	})
	if err != nil {
		return fmt.Errorf("append to %s log: %w", kind, err)
	}
	return nil
}

// notify asks for the report a log calls for; the message file is in
// queue queueName.
func (q *qmgr) notify(ctx context.Context, report string, m *message, queueName string) error {
	r, err := q.bounceCall(ctx, q.logService(report), &proto.BounceRequest{
		Op: proto.BounceOpNotify, Report: report, Queue: queueName, QueueID: m.id,
	})
	if err != nil {
		return fmt.Errorf("send %s report: %w", report, err)
	}
	if q.cfg.Verbose && r.NoticeID != "" {
		q.log.Info("%s: %s report sent as %s", m.id, report, r.NoticeID)
	}
	return nil
}

// bounceCall sends one request to a bounce service over a pooled
// connection. A Status in the answer comes back as the error.
func (q *qmgr) bounceCall(ctx context.Context, service string, req *proto.BounceRequest) (*proto.BounceReply, error) {
	path := proto.PrivatePath(q.cfg.QueueDir, service)
	var r proto.BounceReply
	c, err := q.pool.call(ctx, path, proto.ServiceBounce, proto.VersionBounce, q.cfg.IPCTimeout, req, &r)
	if xe := (*exchangeError)(nil); errors.As(err, &xe) {
		if xe.send {
			return nil, fmt.Errorf("send %s request to %s: %w", req.Op, service, xe.err)
		}
		return nil, fmt.Errorf("read %s's answer: %w", service, xe.err)
	}
	if err != nil {
		return nil, err
	}
	q.pool.put(path, c)
	if r.Status != nil {
		return &r, r.Status
	}
	return &r, nil
}
