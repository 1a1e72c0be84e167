package qmqpd

import (
	"context"

	"github.com/postern-mta/postern/internal/proto"
)

// poolMax is how many idle connections to cleanup are kept.
const poolMax = 16

// cleanupPool submits messages to cleanup over a few kept connections.
type cleanupPool struct{ *proto.CleanupPool }

// Submit opens the message, writes what build returns (the Received:
// header, made once the queue ID is known) and the content, and waits
// for cleanup's verdict.
func (p cleanupPool) Submit(ctx context.Context, o *proto.CleanupOpen, build func(string) []byte, content []byte) (string, error) {
	sub, err := p.Open(ctx, o)
	if err != nil {
		return "", err
	}
	_, err = sub.Write(build(sub.ID()))
	if err == nil {
		_, err = sub.Write(content)
	}
	if err != nil {
		sub.Abort()
		return "", err
	}
	res, err := sub.Finish(ctx)
	if err != nil {
		return "", err
	}
	if res.QueueID != "" {
		return res.QueueID, nil
	}
	return sub.ID(), nil
}
