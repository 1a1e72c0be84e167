package qmgr

import (
	"context"
	"errors"

	"github.com/postern-mta/postern/internal/daemon"
)

// Serve runs the qmgr daemon (not written yet).
func Serve(ctx context.Context, env *daemon.Env) error {
	return errors.New("qmgr: not implemented yet")
}
