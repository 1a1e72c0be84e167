package smtp

import (
	"context"
	"errors"

	"github.com/postern-mta/postern/internal/daemon"
)

// Serve runs the smtp daemon (not written yet).
func Serve(ctx context.Context, env *daemon.Env) error {
	return errors.New("smtp: not implemented yet")
}

// ServeLMTP runs the lmtp daemon (not written yet).
func ServeLMTP(ctx context.Context, env *daemon.Env) error {
	return errors.New("lmtp: not implemented yet")
}
