package discard

import (
	"context"
	"time"

	"github.com/postern-mta/postern/internal/daemon"
)

// Config is what the agents read from main.cf.
type Config struct {
	// StopTimeout bounds a graceful stop (postern_stop_timeout).
	StopTimeout time.Duration
}

func readConfig(env *daemon.Env) (Config, error) {
	r := env.Config.Reader()
	c := Config{StopTimeout: r.Duration("postern_stop_timeout")}
	return c, r.Err()
}

// Serve runs the discard daemon: every recipient is reported delivered.
func Serve(ctx context.Context, env *daemon.Env) error {
	return serve(ctx, env, modeDiscard)
}

// ServeError runs the error daemon: every recipient bounces, or, when the
// service is called "retry", is deferred.
func ServeError(ctx context.Context, env *daemon.Env) error {
	m := modeBounce
	if env.Service == retryService {
		m = modeDefer
	}
	return serve(ctx, env, m)
}

func serve(ctx context.Context, env *daemon.Env, m mode) error {
	c, err := readConfig(env)
	if err != nil {
		return err
	}
	a := &agent{mode: m, log: env.Log, now: time.Now}
	env.Ready()
	return a.serve(ctx, env.Listeners, env.MaxProc, c.StopTimeout)
}
