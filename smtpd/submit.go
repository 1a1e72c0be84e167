package smtpd

import (
	"context"

	"github.com/postern-mta/postern/internal/proto"
)

// Submitter hands messages on: to cleanup over private/cleanup, or, in
// "sendmail -bs" mode, to the postdrop program.
type Submitter interface {
	// Open starts a message. A refusal is a *dsn.Status error; any other
	// error means the service could not be reached.
	Open(ctx context.Context, o *proto.CleanupOpen) (Submission, error)
}

// Submission is one message being handed on.
type Submission interface {
	// ID is the queue ID, "" when not known until the end.
	ID() string
	Write(p []byte) (int, error)
	// Finish ends the content and waits until the message is safe on
	// disk; a refusal is a *dsn.Status error.
	Finish(ctx context.Context) (*proto.CleanupResult, error)
	// Abort drops the message: nothing is queued.
	Abort()
}

// cleanupPool submits to cleanup over a few kept-open connections.
type cleanupPool struct{ *proto.CleanupPool }

func newCleanupPool(paths []string, max int) cleanupPool {
	return cleanupPool{proto.NewCleanupPool(max, paths...)}
}

func (p cleanupPool) Open(ctx context.Context, o *proto.CleanupOpen) (Submission, error) {
	sub, err := p.CleanupPool.Open(ctx, o)
	if err != nil {
		return nil, err
	}
	return sub, nil
}
