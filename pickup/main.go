package pickup

import (
	"context"
	"errors"

	"github.com/postern-mta/postern/internal/daemon"
)

// Serve runs the pickup daemon (not written yet).
func Serve(ctx context.Context, env *daemon.Env) error {
	return errors.New("pickup: not implemented yet")
}
