package showq

import (
	"context"
	"errors"

	"github.com/postern-mta/postern/internal/daemon"
)

// Serve runs the showq daemon (not written yet).
func Serve(ctx context.Context, env *daemon.Env) error {
	return errors.New("showq: not implemented yet")
}
