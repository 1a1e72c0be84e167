package virtual

import (
	"context"
	"errors"

	"github.com/postern-mta/postern/internal/daemon"
)

// Serve runs the virtual daemon (not written yet).
func Serve(ctx context.Context, env *daemon.Env) error {
	return errors.New("virtual: not implemented yet")
}
