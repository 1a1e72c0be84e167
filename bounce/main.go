package bounce

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/postern-mta/postern/internal/config"
	"github.com/postern-mta/postern/internal/daemon"
	"github.com/postern-mta/postern/internal/proto"
	"github.com/postern-mta/postern/queue"
)

// Config is everything the bounce daemon takes from main.cf.
type Config struct {
	Layout *queue.Layout // queue_directory, hash_queue_names, hash_queue_depth
	// CleanupPaths are the cleanup sockets to try, in order:
	// private/$cleanup_service_name, then public/ (where Postfix's stock
	// master.cf puts cleanup).
	CleanupPaths []string
	MyHostname   string // myhostname: MAILER-DAEMON@, Reporting-MTA, the boundary
	MailName     string // mail_name: in the report's Received: header

	// The notify_classes that concern bounce: postmaster copies of
	// bounces (bounce), bounces of null-sender mail (2bounce, or bounce)
	// and postmaster copies of delay warnings (delay).
	NotifyBounce, Notify2Bounce, NotifyDelay bool

	// Postmaster addresses, qualified with $myorigin when bare:
	// bounce_notice_recipient, 2bounce_notice_recipient,
	// delay_notice_recipient.
	BounceNotice, TwoBounceNotice, DelayNotice string
	// DoubleBounceSender is the envelope sender of postmaster notices,
	// double_bounce_sender@$myhostname; mail from it that fails is
	// dropped.
	DoubleBounceSender string

	BounceSizeLimit     int64         // bounce_size_limit: larger originals are returned as headers
	MaxQueueLifetime    time.Duration // maximal_queue_lifetime: Will-Retry-Until
	BounceQueueLifetime time.Duration // bounce_queue_lifetime: the same for null-sender mail
	ThreadedBounces     bool          // enable_threaded_bounces: References/In-Reply-To
	Timeout             time.Duration // ipc_timeout: one request, and an idle client
	StopTimeout         time.Duration // postern_stop_timeout

	// Now and Location give the clock and the time zone of dates
	// (tests; nil means time.Now and time.Local).
	Now      func() time.Time
	Location *time.Location
}

// ReadConfig reads the bounce daemon's parameters. warnings are about
// settings it accepts but ignores.
func ReadConfig(cfg *config.Config) (c Config, warnings []string, err error) {
	r := cfg.Reader()
	queueDir := r.String("queue_directory")
	c = Config{
		Layout:              queue.NewLayout(queueDir, r.List("hash_queue_names"), r.Int("hash_queue_depth")),
		MyHostname:          r.String("myhostname"),
		MailName:            r.String("mail_name"),
		BounceSizeLimit:     r.Size("bounce_size_limit"),
		MaxQueueLifetime:    r.Duration("maximal_queue_lifetime"),
		BounceQueueLifetime: r.Duration("bounce_queue_lifetime"),
		ThreadedBounces:     r.Bool("enable_threaded_bounces"),
		Timeout:             r.Duration("ipc_timeout"),
		StopTimeout:         r.Duration("postern_stop_timeout"),
	}
	cleanup := r.String("cleanup_service_name")
	c.CleanupPaths = []string{proto.PrivatePath(queueDir, cleanup), proto.PublicPath(queueDir, cleanup)}
	origin := r.String("myorigin")
	c.BounceNotice = qualify(r.String("bounce_notice_recipient"), origin)
	c.TwoBounceNotice = qualify(r.String("2bounce_notice_recipient"), origin)
	c.DelayNotice = qualify(r.String("delay_notice_recipient"), origin)
	c.DoubleBounceSender = qualify(r.String("double_bounce_sender"), c.MyHostname)
	for _, class := range r.List("notify_classes") {
		switch strings.ToLower(class) {
		case "bounce":
			c.NotifyBounce = true
		case "2bounce":
			c.Notify2Bounce = true
		case "delay":
			c.NotifyDelay = true
		case "data", "policy", "protocol", "resource", "software":
			// Reported by the programs that meet them, not by bounce.
		default:
			warnings = append(warnings, fmt.Sprintf("unknown notify_classes value %q ignored", class))
		}
	}
	if t := r.String("bounce_template_file"); t != "" {
		warnings = append(warnings, fmt.Sprintf("bounce_template_file = %s is not supported; using the built-in texts", t))
	}
	if err := r.Err(); err != nil {
		return Config{}, nil, err
	}
	if c.Timeout <= 0 {
		c.Timeout = proto.DefaultTimeout
	}
	return c, warnings, nil
}

// qualify appends @domain to a bare name.
func qualify(a, domain string) string {
	if a == "" || strings.Contains(a, "@") || domain == "" {
		return a
	}
	return a + "@" + domain
}

// Serve runs the bounce daemon on the bounce, defer and trace services:
// it keeps the per-message logs and sends the reports made from them.
func Serve(ctx context.Context, env *daemon.Env) error {
	c, warnings, err := ReadConfig(env.Config)
	if err != nil {
		return err
	}
	for _, w := range warnings {
		env.Log.Warning("%s", w)
	}
	s := newServer(c, env.Log)
	defer s.close()
	env.Ready()
	return daemon.ServeConns(ctx, env.Listeners, env.MaxProc, c.StopTimeout, s.handle)
}
