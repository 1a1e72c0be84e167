package pipe

import (
	"context"
	"fmt"

	"github.com/postern-mta/postern/internal/config"
	"github.com/postern-mta/postern/internal/daemon"
	"github.com/postern-mta/postern/internal/privexec"
)

// Serve runs the pipe daemon.
func Serve(ctx context.Context, env *daemon.Env) error {
	cfg, err := readConfig(env.Config, env.Service, env.Args)
	if err != nil {
		return err
	}
	a := NewAgent(cfg, env.Log)
	env.Ready()
	return a.Serve(ctx, env.Listeners, env.MaxProc)
}

// readConfig reads the service's arguments and the parameters it uses.
func readConfig(c *config.Config, service string, args []string) (Config, error) {
	r := c.Reader()
	cfg := Config{
		Service:            service,
		QueueDir:           r.String("queue_directory"),
		HashQueues:         r.List("hash_queue_names"),
		HashDepth:          r.Int("hash_queue_depth"),
		Grace:              r.Duration("postern_stop_timeout"),
		IdleLimit:          r.Duration("max_idle"),
		TimeLimit:          r.Duration(r.First(service+"_time_limit", "command_time_limit")),
		Env:                commandEnv(r.List("export_environment")),
		RecipientDelimiter: r.String("recipient_delimiter"),
		HeaderSizeLimit:    r.Size("header_size_limit"),
		SoftBounce:         r.Bool("soft_bounce"),
	}
	mailOwner := r.String("mail_owner")
	if err := r.Err(); err != nil {
		return cfg, err
	}
	a, err := ParseArgs(args)
	if err != nil {
		return cfg, fmt.Errorf("service %s: %w", service, err)
	}
	cfg.Args = a
	spec := a.User
	if a.Group != "" {
		spec += ":" + a.Group
	}
	if cfg.Cred, err = privexec.ServiceUser(spec, mailOwner); err != nil {
		return cfg, fmt.Errorf("service %s: %w", service, err)
	}
	return cfg, nil
}
