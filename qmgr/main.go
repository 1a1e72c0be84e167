package qmgr

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/postern-mta/postern/internal/config"
	"github.com/postern-mta/postern/internal/daemon"
	"github.com/postern-mta/postern/internal/maps"
	"github.com/postern-mta/postern/internal/matchlist"
	"github.com/postern-mta/postern/internal/resolve"
)

// Config is everything qmgr reads from main.cf and master.cf.
type Config struct {
	QueueDir    string
	HashQueues  []string
	HashDepth   int
	ActiveLimit int // qmgr_message_active_limit

	QueueRunDelay  time.Duration // how often deferred/ is scanned
	MinBackoff     time.Duration
	MaxBackoff     time.Duration
	MaxLifetime    time.Duration // maximal_queue_lifetime
	BounceLifetime time.Duration // bounce_queue_lifetime
	SoftBounce     bool

	DeliverTimeout time.Duration // longest wait for an agent's reply (daemon_timeout)
	IPCTimeout     time.Duration // connecting, and talking to bounce (qmgr_ipc_timeout)
	StopTimeout    time.Duration // postern_stop_timeout

	BounceService, DeferService, TraceService string
	FastFlushDomains                          *matchlist.Domains

	// DefaultFilterNexthop is default_filter_nexthop: the next hop of a
	// content filter that names none ("" : the recipient's domain).
	DefaultFilterNexthop string

	Sched   SchedConfig
	Resolve resolve.Config
	Verbose bool // -v in master.cf: log more
}

// agentCommands are the master.cf commands that deliver mail.
var agentCommands = []string{"smtp", "lmtp", "local", "virtual", "pipe", "error", "discard"}

// ReadConfig reads qmgr's Config: main.cf (with the service's -o
// overrides), and master.cf for the delivery transports and their process
// limits.
func ReadConfig(cfg *config.Config, args []string) (Config, error) {
	r := cfg.Reader()
	c := Config{
		QueueDir:             r.String("queue_directory"),
		HashQueues:           r.List("hash_queue_names"),
		HashDepth:            r.Int("hash_queue_depth"),
		ActiveLimit:          r.Int("qmgr_message_active_limit"),
		QueueRunDelay:        r.Duration("queue_run_delay"),
		MinBackoff:           r.Duration("minimal_backoff_time"),
		MaxBackoff:           r.Duration("maximal_backoff_time"),
		MaxLifetime:          r.Duration("maximal_queue_lifetime"),
		BounceLifetime:       r.Duration("bounce_queue_lifetime"),
		SoftBounce:           r.Bool("soft_bounce"),
		DeliverTimeout:       r.Duration("daemon_timeout"),
		IPCTimeout:           r.Duration("qmgr_ipc_timeout"),
		StopTimeout:          r.Duration("postern_stop_timeout"),
		BounceService:        r.String("bounce_service_name"),
		DeferService:         r.String("defer_service_name"),
		TraceService:         r.String("trace_service_name"),
		DefaultFilterNexthop: r.String("default_filter_nexthop"),
		Verbose:              slices.Contains(args, "-v"),
	}
	flushDomains := r.List("fast_flush_domains")
	parents := r.List("parent_domain_matches_subdomains")
	retry := r.Duration("transport_retry_time")
	processLimit := r.Int("default_process_limit")
	if err := r.Err(); err != nil {
		return Config{}, err
	}
	c.ActiveLimit = max(c.ActiveLimit, 1)
	c.MaxBackoff = max(c.MaxBackoff, c.MinBackoff)
	c.QueueRunDelay = max(c.QueueRunDelay, time.Second)
	var err error
	if c.Resolve, err = resolve.ReadConfig(cfg); err != nil {
		return Config{}, err
	}
	if c.FastFlushDomains, err = matchlist.NewDomains(flushDomains, slices.Contains(parents, "fast_flush_domains"), maps.DefaultOptions()); err != nil {
		return Config{}, fmt.Errorf("fast_flush_domains: %w", err)
	}
	services, err := config.LoadMaster(cfg.Dir())
	if err != nil {
		return Config{}, err
	}
	c.Sched = SchedConfig{
		Transports:         make(map[string]TransportConfig),
		SuspendTime:        c.MinBackoff,
		TransportRetryTime: retry,
	}
	if c.Sched.Default, err = transportConfig(cfg, "default", processLimit, c.Resolve.DeferTransports); err != nil {
		return Config{}, err
	}
	for _, s := range services {
		if s.Type != "unix" || !slices.Contains(agentCommands, s.Command) {
			continue
		}
		limit := s.MaxProc
		if limit < 0 {
			limit = processLimit
		}
		t, err := transportConfig(cfg, s.Name, limit, c.Resolve.DeferTransports)
		if err != nil {
			return Config{}, err
		}
		c.Sched.Transports[s.Name] = t
	}
	return c, nil
}

// transportConfig reads the scheduling limits of one transport: the
// TRANSPORT_ form of each parameter when it is set (or is a parameter of
// its own, as local_destination_recipient_limit is), else the default_
// form.
func transportConfig(cfg *config.Config, name string, processLimit int, deferred []string) (TransportConfig, error) {
	r := cfg.Reader()
	pick := func(suffix string) string {
		specific := name + "_" + suffix
		if cfg.IsSet(specific) {
			return specific
		}
		if _, ok := config.LookupParam(specific); ok {
			return specific
		}
		if suffix == "initial_destination_concurrency" {
			return suffix
		}
		return "default_" + suffix
	}
	t := TransportConfig{
		DestConcurrency:    r.Int(pick("destination_concurrency_limit")),
		InitialConcurrency: r.Int(pick("initial_destination_concurrency")),
		RecipientLimit:     r.Int(pick("destination_recipient_limit")),
		ProcessLimit:       processLimit,
		FailedCohortLimit:  r.Int(pick("destination_concurrency_failed_cohort_limit")),
		Deferred:           slices.Contains(deferred, name),
	}
	pos, neg := pick("destination_concurrency_positive_feedback"), pick("destination_concurrency_negative_feedback")
	posText, negText := r.String(pos), r.String(neg)
	if err := r.Err(); err != nil {
		return TransportConfig{}, err
	}
	var err error
	if t.PositiveFeedback, err = parseFeedback(pos, posText); err != nil {
		return TransportConfig{}, err
	}
	if t.NegativeFeedback, err = parseFeedback(neg, negText); err != nil {
		return TransportConfig{}, err
	}
	return t, nil
}

// parseFeedback reads a concurrency feedback value: a number ("1",
// "0.5"), a fraction ("1/4"), or Postfix's "1/concurrency" and
// "1/sqrt_concurrency".
func parseFeedback(name, v string) (Feedback, error) {
	bad := fmt.Errorf("bad feedback configuration: %s = %s", name, v)
	num, den, frac := strings.Cut(strings.TrimSpace(v), "/")
	n, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if err != nil || n < 0 {
		return Feedback{}, bad
	}
	if !frac {
		return Feedback{Value: n}, nil
	}
	switch den = strings.TrimSpace(den); den {
	case "concurrency":
		return Feedback{Value: n, Per: PerWindow}, nil
	case "sqrt_concurrency":
		return Feedback{Value: n, Per: PerSqrtWindow}, nil
	}
	d, err := strconv.ParseFloat(den, 64)
	if err != nil || d <= 0 {
		return Feedback{}, bad
	}
	return Feedback{Value: n / d}, nil
}

// Serve runs the qmgr daemon.
func Serve(ctx context.Context, env *daemon.Env) error {
	cfg, err := ReadConfig(env.Config, env.Args)
	if err != nil {
		return err
	}
	// One event loop does the work; more threads only add hand-offs
	// between them (measured: a third of qmgr's CPU time per message).
	runtime.GOMAXPROCS(1)
	debug.SetGCPercent(400) // little garbage per message; collect less often
	q := newQmgr(cfg, env.Log)
	// Ready first: a chrooted qmgr confines itself there, before it
	// serves any client.
	env.Ready()
	ctl := make(chan error, 1)
	go func() { ctl <- q.serveControl(ctx, env.Listeners) }()
	err = q.run(ctx, env.Wakeup)
	if cerr := <-ctl; err == nil {
		err = cerr
	}
	return err
}
