package qmqpd

import (
	"context"
	"errors"

	"github.com/postern-mta/postern/internal/daemon"
)

// Serve runs the qmqpd daemon (not written yet).
func Serve(ctx context.Context, env *daemon.Env) error {
	return errors.New("qmqpd: not implemented yet")
}
