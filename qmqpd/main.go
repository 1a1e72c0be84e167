package qmqpd

import (
	"context"
	"fmt"

	"github.com/postern-mta/postern/internal/config"
	"github.com/postern-mta/postern/internal/daemon"
	"github.com/postern-mta/postern/internal/maps"
	"github.com/postern-mta/postern/internal/matchlist"
	"github.com/postern-mta/postern/internal/proto"
)

// Serve runs the qmqpd daemon: one message per connection, at most
// env.MaxProc connections at once.
func Serve(ctx context.Context, env *daemon.Env) error {
	cfg, err := ReadConfig(env.Config, env.Log.Warning)
	if err != nil {
		return err
	}
	name := cfg.CleanupService
	if name == "" {
		name = proto.ServiceCleanup
	}
	pool := cleanupPool{proto.NewCleanupPool(poolMax, proto.PublicPath(cfg.QueueDir, name), proto.PrivatePath(cfg.QueueDir, name))}
	defer pool.Close()
	srv := NewServer(cfg, env.Log, pool)
	env.Ready()
	return daemon.ServeConns(ctx, env.Listeners, env.MaxProc, cfg.Grace, srv.serveDaemon)
}

// ReadConfig reads the parameters qmqpd uses.
func ReadConfig(cfg *config.Config, warn func(string, ...any)) (Config, error) {
	r := cfg.Reader()
	c := Config{
		MyHostname:       r.String("myhostname"),
		MailName:         r.String("mail_name"),
		QueueDir:         r.String("queue_directory"),
		CleanupService:   r.String("cleanup_service_name"),
		Timeout:          r.Duration("qmqpd_timeout"),
		ErrorDelay:       r.Duration("qmqpd_error_delay"),
		MessageSizeLimit: r.Int64("message_size_limit"),
		LineLengthLimit:  r.Int64("line_length_limit"),
		SoftBounce:       r.Bool("soft_bounce"),
		PeernameLookup:   r.Bool("smtpd_peername_lookup"),
		ContentFilter:    r.String("content_filter"),
		Grace:            r.Duration("postern_stop_timeout"),
	}
	clients := r.List("qmqpd_authorized_clients")
	if err := r.Err(); err != nil {
		return c, err
	}
	opt := maps.DefaultOptions()
	opt.Warn = func(msg string) { warn("%s", msg) }
	nets, err := matchlist.NewNetworks(clients, opt)
	if err != nil {
		return c, fmt.Errorf("qmqpd_authorized_clients: %w", err)
	}
	c.AuthorizedClients = nets
	return c, nil
}
