package bounce

import (
	"bufio"
	"context"
	"fmt"

	"github.com/postern-mta/postern/internal/proto"
)

// maxIdleCleanup is how many idle connections to cleanup are kept for
// the next report.
const maxIdleCleanup = 2

// submit sends report r from envelope sender to rcpt through cleanup and
// returns the new queue ID. The report's Message-Id is made from that
// ID, as cleanup would. Any error means nothing was queued (or, if
// cleanup failed after storing it, that a duplicate may follow): the
// caller keeps the log and answers a temporary failure.
func (s *server) submit(ctx context.Context, sender, rcpt string, r *report) (string, error) {
	enc := "7bit"
	if r.eightBit() || r.origEightBit() {
		enc = "8bit"
	}
	open := &proto.CleanupOpen{
		Source:     "bounce",
		Flags:      proto.CleanupNoChecks,
		Sender:     sender,
		Recipients: []proto.Rcpt{{Addr: rcpt}},
		Attrs: []proto.Attr{
			{Name: proto.AttrRewriteContext, Value: "local"},
			{Name: proto.AttrEncoding, Value: enc},
		},
	}
	// A cleanup refusal comes back as a *dsn.Status; a kept connection
	// that a restarted cleanup closed is dialed again by the pool.
	sub, err := s.pool.Open(ctx, open)
	if err != nil {
		return "", err
	}
	r.newID = sub.ID()
	r.messageID = r.newID + "@" + s.cfg.MyHostname
	w := bufio.NewWriterSize(sub, 32<<10)
	err = r.writeTo(w)
	if err == nil {
		err = w.Flush()
	}
	if err != nil {
		sub.Abort()
		return "", fmt.Errorf("send report to cleanup: %w", err)
	}
	res, err := sub.Finish(ctx)
	if err != nil {
		return "", err
	}
	return res.QueueID, nil
}
