package spawn

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/postern-mta/postern/internal/config"
	"github.com/postern-mta/postern/internal/daemon"
	"github.com/postern-mta/postern/internal/privexec"
)

// Serve runs the spawn daemon.
func Serve(ctx context.Context, env *daemon.Env) error {
	cfg, err := readConfig(env.Config, env.Service, env.Args)
	if err != nil {
		return err
	}
	env.Ready()
	return NewServer(cfg, env.Log).Serve(ctx, env.Listeners, env.MaxProc)
}

func readConfig(c *config.Config, service string, args []string) (Config, error) {
	r := c.Reader()
	cfg := Config{
		TimeLimit: r.Duration(r.First(service+"_time_limit", "command_time_limit")),
		Dir:       r.String("queue_directory"),
		Grace:     r.Duration("postern_stop_timeout"),
	}
	export := r.List("export_environment")
	mailOwner := r.String("mail_owner")
	if err := r.Err(); err != nil {
		return cfg, err
	}
	userSpec, argv, err := ParseArgs(args)
	if err != nil {
		return cfg, fmt.Errorf("service %s: %w", service, err)
	}
	cfg.Argv = argv
	if cfg.Cred, err = privexec.ServiceUser(userSpec, mailOwner); err != nil {
		return cfg, fmt.Errorf("service %s: %w", service, err)
	}
	for _, n := range export {
		if strings.Contains(n, "=") {
			cfg.Env = append(cfg.Env, n)
		} else if v, ok := os.LookupEnv(n); ok {
			cfg.Env = append(cfg.Env, n+"="+v)
		}
	}
	cfg.Env = append(cfg.Env, "PATH=/usr/bin:/bin")
	return cfg, nil
}
