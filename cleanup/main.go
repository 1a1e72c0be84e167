package cleanup

import (
	"context"
	"errors"

	"github.com/postern-mta/postern/internal/daemon"
)

// Serve runs the cleanup daemon (not written yet).
func Serve(ctx context.Context, env *daemon.Env) error {
	return errors.New("cleanup: not implemented yet")
}
