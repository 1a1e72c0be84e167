package local

import (
	"context"
	"errors"

	"github.com/postern-mta/postern/internal/daemon"
)

// Serve runs the local daemon (not written yet).
func Serve(ctx context.Context, env *daemon.Env) error {
	return errors.New("local: not implemented yet")
}
