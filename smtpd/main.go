package smtpd

import (
	"context"
	"errors"

	"github.com/postern-mta/postern/internal/daemon"
)

// Serve runs the smtpd daemon (not written yet).
func Serve(ctx context.Context, env *daemon.Env) error {
	return errors.New("smtpd: not implemented yet")
}
