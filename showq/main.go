package showq

import (
	"context"
	"time"

	"github.com/postern-mta/postern/internal/config"
	"github.com/postern-mta/postern/internal/daemon"
	"github.com/postern-mta/postern/queue"
)

// Config is everything showq takes from main.cf.
type Config struct {
	Layout      *queue.Layout // queue_directory, hash_queue_names, hash_queue_depth
	EmptySender string        // empty_address_recipient: how the null sender is shown
	// Timeout bounds each write of a listing and the wait for a client's
	// next request (ipc_timeout).
	Timeout     time.Duration
	StopTimeout time.Duration // postern_stop_timeout
}

// ReadConfig reads showq's parameters.
func ReadConfig(cfg *config.Config) (Config, error) {
	r := cfg.Reader()
	c := Config{
		Layout:      queue.NewLayout(r.String("queue_directory"), r.List("hash_queue_names"), r.Int("hash_queue_depth")),
		EmptySender: r.String("empty_address_recipient"),
		Timeout:     r.Duration("ipc_timeout"),
		StopTimeout: r.Duration("postern_stop_timeout"),
	}
	return c, r.Err()
}

// Serve runs the showq daemon on the listeners master passes (normally
// public/showq).
func Serve(ctx context.Context, env *daemon.Env) error {
	c, err := ReadConfig(env.Config)
	if err != nil {
		return err
	}
	s := NewServer(c, env.Log)
	env.Ready()
	return daemon.ServeConns(ctx, env.Listeners, env.MaxProc, c.StopTimeout, s.Handle)
}
