package spawn

import (
	"context"
	"errors"

	"github.com/postern-mta/postern/internal/daemon"
)

// Serve runs the spawn daemon (not written yet).
func Serve(ctx context.Context, env *daemon.Env) error {
	return errors.New("spawn: not implemented yet")
}
