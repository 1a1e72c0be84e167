package bounce

import (
	"context"
	"errors"

	"github.com/postern-mta/postern/internal/daemon"
)

// Serve runs the bounce daemon (not written yet).
func Serve(ctx context.Context, env *daemon.Env) error {
	return errors.New("bounce: not implemented yet")
}
