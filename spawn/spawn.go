package spawn

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/postern-mta/postern/internal/daemon"
	"github.com/postern-mta/postern/internal/maillog"
	"github.com/postern-mta/postern/internal/privexec"
)

// Config is what the spawn daemon needs, read once by Serve.
type Config struct {
	Argv      []string      // argv=, the command and its arguments
	Cred      privexec.Cred // user= looked up
	TimeLimit time.Duration // SERVICE_time_limit, else command_time_limit
	Env       []string      // export_environment and PATH
	Dir       string        // the working directory: the queue directory
	Grace     time.Duration
}

// ParseArgs reads spawn's master.cf arguments: user=NAME[:GROUP] and
// argv=COMMAND, last, followed by its arguments.
func ParseArgs(args []string) (userSpec string, argv []string, err error) {
	for i, a := range args {
		name, value, ok := strings.Cut(a, "=")
		switch {
		case !ok:
			return "", nil, fmt.Errorf("invalid attribute %q: expected name=value (argv= must be last)", a)
		case name == "user":
			userSpec = value
		case name == "argv":
			argv = append([]string{value}, args[i+1:]...)
		default:
			return "", nil, fmt.Errorf("unknown attribute %q", name)
		}
		if argv != nil {
			break
		}
	}
	switch {
	case len(argv) == 0 || argv[0] == "":
		return "", nil, errors.New("missing argv= command-line attribute")
	case userSpec == "":
		return "", nil, errors.New("missing user= command-line attribute")
	}
	return userSpec, argv, nil
}

// Server runs the command for each connection.
type Server struct {
	cfg Config
	log *maillog.Logger
}

// NewServer prepares a server.
func NewServer(cfg Config, log *maillog.Logger) *Server { return &Server{cfg: cfg, log: log} }

// Serve runs the command for each connection on lns, at most maxProc at
// once, until ctx ends; commands still running then get cfg.Grace.
func (s *Server) Serve(ctx context.Context, lns []net.Listener, maxProc int) error {
	work, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	stop := context.AfterFunc(ctx, func() { time.AfterFunc(s.cfg.Grace, cancel) })
	defer stop()
	return daemon.ServeConns(ctx, lns, maxProc, s.cfg.Grace, func(_ context.Context, c *daemon.Conn) {
		c.SetIdle(false)
		s.handle(work, c.Conn)
	})
}

// handle gives one connection to a new command as its standard input,
// output and error, and waits for the command to end.
func (s *Server) handle(ctx context.Context, nc net.Conn) {
	fc, ok := nc.(interface{ File() (*os.File, error) })
	if !ok {
		s.log.Warning("connection of type %T cannot be passed to a command", nc)
		return
	}
	f, err := fc.File()
	if err != nil {
		s.log.Warning("pass connection to %s: %v", s.cfg.Argv[0], err)
		return
	}
	defer f.Close()
	// The command expects an ordinary, blocking descriptor.
	if err := syscall.SetNonblock(int(f.Fd()), false); err != nil {
		s.log.Warning("pass connection to %s: %v", s.cfg.Argv[0], err)
		return
	}
	nc.Close() // the command has its own copy now
	res, err := privexec.RunCommand(ctx, &privexec.Command{
		Argv:      s.cfg.Argv,
		Env:       s.cfg.Env,
		Dir:       s.cfg.Dir,
		Cred:      &s.cfg.Cred,
		Conn:      f,
		TimeLimit: s.cfg.TimeLimit,
	})
	switch {
	case err != nil:
		s.log.Warning("%s: %v", s.cfg.Argv[0], err)
	case res.StartErr != nil:
		s.log.Warning("command %s: %v", s.cfg.Argv[0], res.StartErr)
	case res.TimedOut:
		s.log.Warning("%s: command time limit exceeded", s.cfg.Argv[0])
	case res.Signal != 0:
		s.log.Warning("command %s killed by signal %d", s.cfg.Argv[0], int(res.Signal))
	case res.Exit != 0:
		s.log.Warning("command %s exit status %d", s.cfg.Argv[0], res.Exit)
	}
}
