package local

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/postern-mta/postern/internal/config"
	"github.com/postern-mta/postern/internal/daemon"
	"github.com/postern-mta/postern/internal/maps"
	"github.com/postern-mta/postern/internal/privexec"
	"github.com/postern-mta/postern/internal/privexec/mailbox"
	"github.com/postern-mta/postern/internal/resolve"
)

// Serve runs the local daemon.
func Serve(ctx context.Context, env *daemon.Env) error {
	cfg, err := readConfig(env.Config, env.Service, func(msg string) { env.Log.Warning("%s", msg) })
	if err != nil {
		return err
	}
	a, err := NewAgent(cfg, env.Log)
	if err != nil {
		return err
	}
	defer a.Close()
	// master's listeners are bound already: clients wait in the kernel
	// until ServeConns accepts.
	env.Ready()
	return a.Serve(ctx, env.Listeners, env.MaxProc)
}

// readConfig reads every parameter the agent uses.
func readConfig(c *config.Config, service string, warn func(string)) (Config, error) {
	r := c.Reader()
	cfg := Config{
		Service:                service,
		QueueDir:               r.String("queue_directory"),
		CleanupService:         r.String("cleanup_service_name"),
		HashQueues:             r.List("hash_queue_names"),
		HashDepth:              r.Int("hash_queue_depth"),
		MyOrigin:               strings.ToLower(r.String("myorigin")),
		MyHostname:             r.String("myhostname"),
		MailName:               r.String("mail_name"),
		Grace:                  r.Duration("postern_stop_timeout"),
		IdleLimit:              r.Duration("max_idle"),
		ForwardPath:            r.List("forward_path"),
		Expand:                 c.ExpandWith,
		ForwardExpansionFilter: r.String("forward_expansion_filter"),
		CommandExpansionFilter: r.String("command_expansion_filter"),
		ExecDirectory:          r.String("command_execution_directory"),
		ExecDirExpansionFilter: r.String("execution_directory_expansion_filter"),
		CommandTimeLimit:       r.Duration(r.First(service+"_time_limit", "command_time_limit")),
		CommandShell:           r.String("local_command_shell"),
		ExportEnvironment:      r.List("export_environment"),
		HomeMailbox:            r.String("home_mailbox"),
		MailSpoolDirectory:     r.String("mail_spool_directory"),
		MailboxCommand:         r.String("mailbox_command"),
		MailboxTransport:       r.String("mailbox_transport"),
		FallbackTransport:      r.String("fallback_transport"),
		MailboxSizeLimit:       r.Size("mailbox_size_limit"),
		LuserRelay:             r.String("luser_relay"),
		RecipientDelimiter:     r.String("recipient_delimiter"),
		OwnerRequestSpecial:    r.Bool("owner_request_special"),
		ExpandOwnerAlias:       r.Bool("expand_owner_alias"),
		RequireHomeDirectory:   r.Bool("require_home_directory"),
		StrictMailboxOwnership: r.Bool("strict_mailbox_ownership"),
		FrozenDeliveredTo:      r.Bool("frozen_delivered_to"),
		Biff:                   r.Bool("biff"),
		DuplicateFilterLimit:   r.Int("duplicate_filter_limit"),
		HeaderSizeLimit:        r.Size("header_size_limit"),
		SoftBounce:             r.Bool("soft_bounce"),
		PassTimeout:            time.Hour,
		ForwardTimeout:         100 * time.Second,
		StepTimeout:            r.Duration(r.First(service+"_time_limit", "command_time_limit")),
		Locking: mailbox.Locking{
			Attempts:  r.Int("deliver_lock_attempts"),
			Delay:     r.Duration("deliver_lock_delay"),
			StaleTime: r.Duration("stale_lock_time"),
		},
	}
	aliasMaps := r.List("alias_maps")
	allowCommands := r.List("allow_mail_to_commands")
	allowFiles := r.List("allow_mail_to_files")
	delivered := r.List("prepend_delivered_header")
	locks := r.List("mailbox_delivery_lock")
	defaultPrivs := r.String("default_privs")
	mailboxCommandMaps := r.List("mailbox_command_maps")
	mailboxTransportMaps := r.List("mailbox_transport_maps")
	fallbackTransportMaps := r.List("fallback_transport_maps")
	if err := r.Err(); err != nil {
		return cfg, err
	}
	var err error
	if cfg.AllowCommands, err = parseExpansion(allowCommands); err != nil {
		return cfg, fmt.Errorf("allow_mail_to_commands: %w", err)
	}
	if cfg.AllowFiles, err = parseExpansion(allowFiles); err != nil {
		return cfg, fmt.Errorf("allow_mail_to_files: %w", err)
	}
	if cfg.DeliveredHeader, err = parseDelivered(delivered); err != nil {
		return cfg, err
	}
	l, err := mailbox.ParseLocking(locks)
	if err != nil {
		return cfg, fmt.Errorf("mailbox_delivery_lock: %w", err)
	}
	cfg.Locking.Fcntl, cfg.Locking.Flock, cfg.Locking.Dotlock = l.Fcntl, l.Flock, l.Dotlock
	if cfg.Hostname, err = os.Hostname(); err != nil {
		return cfg, fmt.Errorf("system host name: %w", err)
	}
	if cfg.DefaultPrivs, err = lookupPrivs(defaultPrivs); err != nil {
		return cfg, err
	}
	opt := maps.DefaultOptions()
	opt.Warn = warn
	for _, spec := range aliasMaps {
		t, err := maps.Open(spec, opt)
		if err != nil {
			return cfg, fmt.Errorf("alias_maps: %w", err)
		}
		cfg.AliasMaps = append(cfg.AliasMaps, t)
	}
	for _, tm := range []struct {
		name  string
		specs []string
		dst   *maps.Table
	}{
		{"mailbox_command_maps", mailboxCommandMaps, &cfg.MailboxCommandMaps},
		{"mailbox_transport_maps", mailboxTransportMaps, &cfg.MailboxTransportMaps},
		{"fallback_transport_maps", fallbackTransportMaps, &cfg.FallbackTransportMaps},
	} {
		if len(tm.specs) == 0 {
			continue
		}
		t, err := maps.OpenList(tm.specs, opt)
		if err != nil {
			return cfg, fmt.Errorf("%s: %w", tm.name, err)
		}
		*tm.dst = t
	}
	rc, err := resolve.ReadConfigOptions(c, opt)
	if err != nil {
		return cfg, err
	}
	cfg.Resolver = resolve.New(rc)
	return cfg, nil
}

// lookupPrivs finds the default_privs account. It must exist and must not
// be root.
func lookupPrivs(name string) (privexec.Cred, error) {
	u, err := SystemUsers().Lookup(name)
	if err != nil {
		return privexec.Cred{}, fmt.Errorf("default_privs: %w", err)
	}
	if u == nil {
		return privexec.Cred{}, fmt.Errorf("default_privs: unknown user name: %s", name)
	}
	if u.UID == 0 || u.GID == 0 {
		return privexec.Cred{}, fmt.Errorf("default_privs: %s has privileges of root: choose an unprivileged account", name)
	}
	return privexec.Cred{UID: u.UID, GID: u.GID}, nil
}
