package pipe

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"

	"github.com/postern-mta/postern/internal/agent"
	"github.com/postern-mta/postern/internal/dsn"
	"github.com/postern-mta/postern/internal/maillog"
	"github.com/postern-mta/postern/internal/privexec"
	"github.com/postern-mta/postern/internal/privexec/mailbox"
	"github.com/postern-mta/postern/internal/proto"
	"github.com/postern-mta/postern/queue"
)

// Config is everything the agent uses, read once by Serve.
type Config struct {
	Service    string // master.cf service name: relay= and "delivered via SERVICE service"
	QueueDir   string
	HashQueues []string
	HashDepth  int
	Grace      time.Duration
	IdleLimit  time.Duration
	Args       *Args
	Cred       privexec.Cred // user= looked up
	TimeLimit  time.Duration // SERVICE_time_limit, else command_time_limit
	// Env is the command's environment: export_environment and PATH.
	Env                []string
	RecipientDelimiter string
	HeaderSizeLimit    int64
	SoftBounce         bool
}

// Agent is the pipe delivery agent.
type Agent struct {
	cfg    Config
	log    *maillog.Logger
	layout *queue.Layout
}

// NewAgent prepares an agent.
func NewAgent(cfg Config, log *maillog.Logger) *Agent {
	return &Agent{cfg: cfg, log: log, layout: queue.NewLayout(cfg.QueueDir, cfg.HashQueues, cfg.HashDepth)}
}

// Serve answers delivery requests on lns (at most maxProc at once) until
// ctx ends; deliveries under way then get cfg.Grace to finish.
func (a *Agent) Serve(ctx context.Context, lns []net.Listener, maxProc int) error {
	return agent.Serve(ctx, lns, agent.Options{MaxProc: maxProc, Grace: a.cfg.Grace, IdleLimit: a.cfg.IdleLimit, Log: a.log}, a.Deliver)
}

// Deliver runs the command once for the request's recipients (those not
// refused first) and gives each the command's outcome.
func (a *Agent) Deliver(ctx context.Context, req *proto.DeliverRequest) *proto.DeliverReply {
	cfg := &a.cfg
	flags := cfg.Args.Flags
	start := time.Now()
	reply := &proto.DeliverReply{Results: make([]proto.RcptResult, len(req.Recipients))}
	qf, err := queue.Open(a.layout.Path(req.Queue, req.QueueID), false)
	if err != nil {
		a.log.Warning("%s: %v", req.QueueID, err)
		return &proto.DeliverReply{Status: dsn.Temp("4.3.0", "cannot read queue file")}
	}
	defer qf.Close()
	finish := func(i int, st *dsn.Status) {
		if cfg.SoftBounce && st.Permanent() {
			st = st.Soften()
		}
		r := &req.Recipients[i]
		a.log.Delivery(agent.DeliveryLine(req, r.Addr, r.Orig, cfg.Service, st, start))
		reply.Results[i] = a.result(st)
	}
	if (flags.DeliveredTo || flags.OrigRcpt) && len(req.Recipients) > 1 {
		a.log.Warning("%s: flags O and D need %s_destination_recipient_limit = 1", req.QueueID, cfg.Service)
		for i := range req.Recipients {
			finish(i, agent.Status("4.3.5", "mail system configuration error"))
		}
		return reply
	}
	if cfg.Args.Size > 0 && qf.Size() > cfg.Args.Size {
		for i := range req.Recipients {
			finish(i, agent.Status("5.2.3", "message too large"))
		}
		return reply
	}
	// D: a recipient already in a Delivered-To header is a loop.
	var todo []int
	if flags.DeliveredTo {
		loops, err := mailbox.DeliveredTo(qf.Content(), cfg.HeaderSizeLimit)
		if err != nil {
			a.log.Warning("%s: read message headers: %v", req.QueueID, err)
			return &proto.DeliverReply{Status: dsn.Temp("4.3.0", "cannot read queue file")}
		}
		for i, r := range req.Recipients {
			if loops[strings.ToLower(r.Addr)] {
				finish(i, agent.Status("5.4.6", "mail forwarding loop for "+r.Addr))
				continue
			}
			todo = append(todo, i)
		}
	} else {
		for i := range req.Recipients {
			todo = append(todo, i)
		}
	}
	if len(todo) == 0 {
		return reply
	}
	rcpts := make([]proto.DeliverRcpt, len(todo))
	for k, i := range todo {
		rcpts[k] = req.Recipients[i]
	}
	st := a.run(ctx, req, qf, rcpts)
	for _, i := range todo {
		finish(i, st)
	}
	return reply
}

// run runs the command for rcpts and returns its outcome.
func (a *Agent) run(ctx context.Context, req *proto.DeliverRequest, qf *queue.File, rcpts []proto.DeliverRcpt) *dsn.Status {
	cfg := &a.cfg
	args := cfg.Args
	x := args.macros(req, rcpts, cfg.RecipientDelimiter, qf.Size())
	argv, err := x.expandArgv(args.Argv)
	if err != nil {
		a.log.Warning("%s: argv=: %v", req.QueueID, err)
		return agent.Status("4.3.5", "mail system configuration error")
	}
	if req.Flags&proto.DeliverVerify != 0 {
		return dsn.OK("2.0.0", "delivers via %s service", cfg.Service)
	}
	o := mailbox.CopyOptions{
		FromLine: args.Flags.FromLine, ReturnPath: args.Flags.ReturnPath, Sender: req.Sender,
		QuoteFrom: args.Flags.QuoteFrom, DotStuff: args.Flags.DotStuff, BlankLine: args.Flags.BlankLine, EOL: args.EOL,
	}
	if args.Flags.OrigRcpt {
		o.OrigRcpt = rcpts[0].Orig
		if o.OrigRcpt == "" {
			o.OrigRcpt = rcpts[0].Addr
		}
	}
	if args.Flags.DeliveredTo {
		o.DeliveredTo = rcpts[0].Addr
	}
	pr, pw := io.Pipe()
	defer pr.Close()
	go func() {
		_, err := mailbox.Copy(pw, qf.Content(), o)
		pw.CloseWithError(err)
	}()
	dir := args.Directory
	if dir == "" {
		dir = cfg.QueueDir
	}
	res, err := privexec.RunCommand(ctx, &privexec.Command{
		Argv:      argv,
		Env:       cfg.Env,
		Dir:       dir,
		Cred:      &cfg.Cred,
		Stdin:     pr,
		TimeLimit: cfg.TimeLimit,
	})
	if err != nil {
		a.log.Warning("%s: %v", req.QueueID, err)
		return agent.Status("4.3.0", "cannot run command: "+argv[0])
	}
	if res.StartErr != nil {
		a.log.Warning("%s: command %s: %v", req.QueueID, argv[0], res.StartErr)
	}
	if st := res.Status(argv[0]); st != nil {
		return st
	}
	if res.WriteErr != nil {
		return agent.Status("4.3.0", fmt.Sprintf("Command failed: %v: %q", res.WriteErr, argv[0]))
	}
	return dsn.OK("2.0.0", "delivered via %s service", cfg.Service)
}

// result is a recipient's answer to qmgr: delivered (flag X) or relayed
// on success.
func (a *Agent) result(st *dsn.Status) proto.RcptResult {
	success := proto.ActionRelayed
	if a.cfg.Args.Flags.Final {
		success = proto.ActionDelivered
	}
	return agent.Result(st, success, a.cfg.Service)
}

// commandEnv is the environment of the command: export_environment (NAME
// passes the agent's value on, NAME=value sets one) and PATH.
func commandEnv(export []string) []string {
	var env []string
	for _, n := range export {
		if strings.Contains(n, "=") {
			env = append(env, n)
		} else if v, ok := os.LookupEnv(n); ok {
			env = append(env, n+"="+v)
		}
	}
	return append(env, "PATH=/usr/bin:/bin")
}
