package daemon

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/postern-mta/postern/internal/config"
	"github.com/postern-mta/postern/internal/maillog"
	"github.com/postern-mta/postern/internal/maps"
)

// Env is everything a daemon gets from master.
type Env struct {
	Command string // the daemon: smtpd, cleanup, smtp, …
	Service string // the master.cf service name: smtp, submission, relay, …
	Type    string // inet, unix, unix-dgram, fifo, pass
	// Config is main.cf with this service's -o overrides and service_name
	// applied. Only the daemon's main.go reads it.
	Config    *config.Config
	Args      []string // master.cf command arguments other than -o
	Listeners []net.Listener
	MaxProc   int // most clients served at once; 0 = no limit
	Log       *maillog.Logger
	// Wakeup receives master's wake-ups (the wakeup column). Never closed.
	Wakeup <-chan struct{}
	// OnDemand is set for a service master starts when a client
	// connects; such a daemon stops itself (its context ends) after
	// MaxIdle without work (see Busy and Done).
	OnDemand bool
	MaxIdle  time.Duration

	status    *os.File
	direct    io.Writer // the mail log itself, written to once ready
	readyOnce sync.Once
	confine   confinement
	// stop ends the daemon gracefully (Run's context); restartOnce
	// guards the restart after a table changed.
	stop        context.CancelFunc
	restartOnce sync.Once
}

// Ready tells master the daemon is serving. Call it once every listener is
// being accepted on; master's "postfix start" waits for it.
//
// A chrooted service (POSTERN_CHROOT) confines itself here first: it
// chroots into the queue directory and drops to mail_owner
// (POSTERN_DROP). Call Ready after opening every table, certificate and
// file outside the queue directory, and before serving anyone. A failure
// to confine is fatal. Once confined, a table whose file changes cannot be
// reloaded from inside the jail: the daemon then logs "table … has changed
// -- restarting" and asks master for a fresh process, which takes over as
// on a reload (this one finishes its sessions and stops).
func (e *Env) Ready() {
	e.readyOnce.Do(func() {
		if err := e.confine.apply(); err != nil {
			e.Log.Fatal("%v", err)
		}
		if e.status != nil {
			fmt.Fprintf(e.status, "%s\n", MsgReady)
		}
		if e.direct != nil {
			e.Log.SetOutput(e.direct)
		}
		if e.confine.root != "" {
			maps.Confine(e.tableChanged)
		}
	})
}

// tableChanged restarts a confined daemon whose table file changed: master
// starts a fresh process beside it; without master it just stops.
func (e *Env) tableChanged(table string) {
	e.restartOnce.Do(func() {
		e.Log.Info("%s has changed -- restarting", table)
		if e.status != nil {
			if _, err := fmt.Fprintf(e.status, "%s\n", MsgRestart); err == nil {
				return
			}
		}
		if e.stop != nil {
			e.stop()
		}
	})
}

// logBatchDelay is the longest a daemon's log line waits to be written
// with others.
const logBatchDelay = 2 * time.Millisecond

// ServeFunc runs a daemon until ctx is cancelled (graceful stop: stop
// accepting, finish what is under way, return) or a fatal error.
type ServeFunc func(ctx context.Context, env *Env) error

// Run is the body of "postern daemon COMMAND args…": it builds the Env
// from what master passed, runs serve, and exits. It never returns.
func Run(command string, args []string, serve ServeFunc) {
	pid := os.Getpid()
	early := maillog.New(os.Stderr, "postern", command, pid)
	env, err := setup(command, args)
	if err != nil {
		early.Fatal("%v", err)
	}
	log := env.Log
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	env.stop = cancel
	if env.OnDemand && env.MaxIdle > 0 {
		go watchIdle(env.MaxIdle, cancel, ctx.Done())
	}
	// A second signal after the graceful stop began means "now".
	go func() {
		<-ctx.Done()
		c := make(chan os.Signal, 1)
		signal.Notify(c, syscall.SIGTERM, syscall.SIGINT)
		<-c
		os.Exit(1)
	}()
	signal.Ignore(syscall.SIGPIPE, syscall.SIGHUP)
	endProfile := startProfile(command)
	// Busy daemons log many lines a second: gathering them for a moment
	// turns many writes into one. A daemon flushes them itself before it
	// hands a message on, so that the log keeps the order of events.
	log.Batch(logBatchDelay)
	err = serve(ctx, env)
	endProfile()
	log.Flush()
	if err != nil && !errors.Is(err, context.Canceled) {
		log.Fatal("%v", err)
	}
	os.Exit(0)
}

// setup reads the descriptor map and the environment.
func setup(command string, args []string) (*Env, error) {
	if want := os.Getenv(EnvBuild); want != "" {
		have, err := BuildID()
		if err != nil {
			return nil, err
		}
		if have != want {
			return nil, fmt.Errorf("this binary (build %s) is not master's (build %s): restart Postern after an upgrade", short(have), short(want))
		}
	}
	opts, rest, err := ParseArgs(args)
	if err != nil {
		return nil, err
	}
	cfg, err := config.Load(config.ResolveDir(os.Getenv(EnvConfig)))
	if err != nil {
		return nil, err
	}
	name, typ, _ := strings.Cut(os.Getenv(EnvService), "/")
	if name == "" {
		name = command
	}
	all := append([]config.Option{{Name: "service_name", Value: name}, {Name: "process_name", Value: command}}, opts...)
	cfg = cfg.With(all)
	env := &Env{Command: command, Service: name, Type: typ, Config: cfg, Args: rest}
	if env.confine, err = confinementFromEnv(); err != nil {
		return nil, err
	}
	r := cfg.Reader()
	env.Log = maillog.New(os.Stderr, r.String("syslog_name"), command, os.Getpid())
	if os.Getenv(EnvBuild) == "" {
		// Run outside master (smtpd -S for sendmail -bs): its lines go
		// to the mail log when it can be opened, not to the user's
		// terminal, as Postfix's do; else to standard error as before.
		// The log closes when the process exits.
		if l, _ := maillog.OpenForCommand(maillog.PlaceOf(r), command); l != nil {
			env.Log = l
		}
	}
	env.MaxIdle = r.Duration("max_idle")
	env.OnDemand = os.Getenv(EnvOnDemand) == "1"
	if err := r.Err(); err != nil {
		return nil, err
	}
	if s := os.Getenv(EnvMaxProc); s != "" {
		if env.MaxProc, err = strconv.Atoi(s); err != nil {
			return nil, fmt.Errorf("bad %s=%q from master", EnvMaxProc, s)
		}
	}
	n := 0
	if s := os.Getenv(EnvListeners); s != "" {
		if n, err = strconv.Atoi(s); err != nil {
			return nil, fmt.Errorf("bad %s=%q from master", EnvListeners, s)
		}
	}
	for i := range n {
		f := os.NewFile(uintptr(FDFirstListener+i), fmt.Sprintf("listener %d", i))
		ln, err := net.FileListener(f)
		if err != nil {
			return nil, fmt.Errorf("listener %d from master: %w", i, err)
		}
		f.Close()
		env.Listeners = append(env.Listeners, ln)
	}
	if how := os.Getenv(EnvLog); how != "" {
		// Not for the programs a daemon runs (pipe, local's commands).
		syscall.CloseOnExec(FDFirstListener + n)
		f := os.NewFile(uintptr(FDFirstListener+n), "maillog")
		switch host, isFile := strings.CutPrefix(how, "file:"); {
		case isFile:
			env.direct = maillog.NewDirect(f, host, false)
		case how == "syslog":
			env.direct = maillog.NewDirect(f, "", true)
		default:
			return nil, fmt.Errorf("bad %s=%q from master", EnvLog, how)
		}
	}
	wake := make(chan struct{}, 1)
	env.Wakeup = wake
	if os.Getenv(EnvBuild) != "" {
		syscall.CloseOnExec(FDStatus)
		env.status = os.NewFile(FDStatus, "status")
		go readStatus(env.status, wake)
	}
	return env, nil
}

// readStatus turns master's "wakeup" lines into non-blocking signals. When
// master goes away the socket closes and the daemon stops: a child never
// outlives its master.
func readStatus(f *os.File, wake chan<- struct{}) {
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if sc.Text() == MsgWakeup {
			select {
			case wake <- struct{}{}:
			default:
			}
		}
	}
	syscall.Kill(os.Getpid(), syscall.SIGTERM) //nolint:errcheck // best effort
}

// ParseArgs splits master.cf command arguments into -o overrides and the
// rest. "-o name=value" and "-oname=value" are accepted.
func ParseArgs(args []string) ([]config.Option, []string, error) {
	var opts []config.Option
	var rest []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		var kv string
		switch {
		case a == "-o":
			if i+1 >= len(args) {
				return nil, nil, errors.New("-o needs name=value")
			}
			i++
			kv = args[i]
		case strings.HasPrefix(a, "-o"):
			kv = a[2:]
		default:
			rest = append(rest, a)
			continue
		}
		name, value, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, nil, fmt.Errorf("-o %s: expected name=value", kv)
		}
		opts = append(opts, config.Option{Name: strings.TrimSpace(name), Value: strings.TrimSpace(value)})
	}
	return opts, rest, nil
}

func short(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
