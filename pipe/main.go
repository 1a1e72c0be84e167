package pipe

import (
	"context"
	"errors"

	"github.com/postern-mta/postern/internal/daemon"
)

// Serve runs the pipe daemon (not written yet).
func Serve(ctx context.Context, env *daemon.Env) error {
	return errors.New("pipe: not implemented yet")
}
