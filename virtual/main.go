package virtual

import (
	"context"
	"fmt"
	"os"

	"github.com/postern-mta/postern/internal/config"
	"github.com/postern-mta/postern/internal/daemon"
	"github.com/postern-mta/postern/internal/maps"
	"github.com/postern-mta/postern/internal/privexec/mailbox"
)

// Serve runs the virtual daemon.
func Serve(ctx context.Context, env *daemon.Env) error {
	cfg, err := readConfig(env.Config, env.Service, func(msg string) { env.Log.Warning("%s", msg) })
	if err != nil {
		return err
	}
	a := NewAgent(cfg, env.Log)
	defer a.Close()
	env.Ready()
	return a.Serve(ctx, env.Listeners, env.MaxProc)
}

// readConfig reads every parameter the agent uses.
func readConfig(c *config.Config, service string, warn func(string)) (Config, error) {
	r := c.Reader()
	cfg := Config{
		Service:            service,
		QueueDir:           r.String("queue_directory"),
		HashQueues:         r.List("hash_queue_names"),
		HashDepth:          r.Int("hash_queue_depth"),
		Grace:              r.Duration("postern_stop_timeout"),
		IdleLimit:          r.Duration("max_idle"),
		MailboxBase:        r.String("virtual_mailbox_base"),
		MinimumUID:         r.Int64("virtual_minimum_uid"),
		MailboxLimit:       r.Size("virtual_mailbox_limit"),
		RecipientDelimiter: r.String("recipient_delimiter"),
		HeaderSizeLimit:    r.Size("header_size_limit"),
		SoftBounce:         r.Bool("soft_bounce"),
		StepTimeout:        r.Duration(r.First(service+"_time_limit", "command_time_limit")),
		Locking: mailbox.Locking{
			Attempts:  r.Int("deliver_lock_attempts"),
			Delay:     r.Duration("deliver_lock_delay"),
			StaleTime: r.Duration("stale_lock_time"),
		},
	}
	locks := r.List("virtual_mailbox_lock")
	tables := []struct {
		name  string
		specs []string
		dst   *maps.Table
	}{
		{"virtual_mailbox_maps", r.List("virtual_mailbox_maps"), &cfg.MailboxMaps},
		{"virtual_uid_maps", r.List("virtual_uid_maps"), &cfg.UIDMaps},
		{"virtual_gid_maps", r.List("virtual_gid_maps"), &cfg.GIDMaps},
	}
	if err := r.Err(); err != nil {
		return cfg, err
	}
	l, err := mailbox.ParseLocking(locks)
	if err != nil {
		return cfg, fmt.Errorf("virtual_mailbox_lock: %w", err)
	}
	cfg.Locking.Fcntl, cfg.Locking.Flock, cfg.Locking.Dotlock = l.Fcntl, l.Flock, l.Dotlock
	if cfg.Hostname, err = os.Hostname(); err != nil {
		return cfg, fmt.Errorf("system host name: %w", err)
	}
	opt := maps.DefaultOptions()
	opt.Warn = warn
	for _, t := range tables {
		if len(t.specs) == 0 {
			continue
		}
		list, err := maps.OpenList(t.specs, opt)
		if err != nil {
			return cfg, fmt.Errorf("%s: %w", t.name, err)
		}
		*t.dst = list
	}
	return cfg, nil
}
