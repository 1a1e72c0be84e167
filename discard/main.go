package discard

import (
	"context"
	"errors"

	"github.com/postern-mta/postern/internal/daemon"
)

// Serve runs the discard daemon (not written yet).
func Serve(ctx context.Context, env *daemon.Env) error {
	return errors.New("discard: not implemented yet")
}

// ServeError runs the error daemon (not written yet).
func ServeError(ctx context.Context, env *daemon.Env) error {
	return errors.New("error: not implemented yet")
}
