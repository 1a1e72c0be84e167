package pipe

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"

	"github.com/postern-mta/postern/internal/daemon"
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
	work, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	stop := context.AfterFunc(ctx, func() { time.AfterFunc(a.cfg.Grace, cancel) })
	defer stop()
	return daemon.ServeConns(ctx, lns, maxProc, a.cfg.Grace, func(_ context.Context, c *daemon.Conn) {
		a.serveConn(work, c)
	})
}

func (a *Agent) serveConn(ctx context.Context, c *daemon.Conn) {
	pc, err := proto.Accept(c, proto.ServiceDeliver, proto.VersionDeliver)
	if err != nil {
		a.log.Warning("deliver connection: %v", err)
		return
	}
	for {
		c.SetIdle(true)
		pc.Timeout = a.cfg.IdleLimit
		var req proto.DeliverRequest
		err := pc.Recv(&req)
		c.SetIdle(false)
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) && !errors.Is(err, io.ErrUnexpectedEOF) {
				a.log.Warning("read delivery request: %v", err)
			}
			return
		}
		reply := a.Deliver(ctx, &req)
		pc.Timeout = 0
		if err := pc.Send(reply); err != nil {
			a.log.Warning("%s: send delivery status: %v", req.QueueID, err)
			return
		}
	}
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
		a.logResult(req, &req.Recipients[i], st, start)
		reply.Results[i] = a.result(st)
	}
	if (flags.DeliveredTo || flags.OrigRcpt) && len(req.Recipients) > 1 {
		a.log.Warning("%s: flags O and D need %s_destination_recipient_limit = 1", req.QueueID, cfg.Service)
		for i := range req.Recipients {
			finish(i, status("4.3.5", "mail system configuration error"))
		}
		return reply
	}
	if cfg.Args.Size > 0 && qf.Size() > cfg.Args.Size {
		for i := range req.Recipients {
			finish(i, status("5.2.3", "message too large"))
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
				finish(i, status("5.4.6", "mail forwarding loop for "+r.Addr))
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
		return status("4.3.5", "mail system configuration error")
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
		return status("4.3.0", "cannot run command: "+argv[0])
	}
	if res.StartErr != nil {
		a.log.Warning("%s: command %s: %v", req.QueueID, argv[0], res.StartErr)
	}
	if st := res.Status(argv[0]); st != nil {
		return st
	}
	if res.WriteErr != nil {
		return status("4.3.0", fmt.Sprintf("Command failed: %v: %q", res.WriteErr, argv[0]))
	}
	return dsn.OK("2.0.0", "delivered via %s service", cfg.Service)
}

// logResult writes the delivery line of one recipient.
func (a *Agent) logResult(req *proto.DeliverRequest, r *proto.DeliverRcpt, st *dsn.Status, start time.Time) {
	now := time.Now()
	var delays [4]time.Duration
	if !req.Active.IsZero() {
		delays[0] = req.Active.Sub(req.Arrival)
		delays[1] = start.Sub(req.Active)
	}
	delays[3] = now.Sub(start)
	verify := req.Flags&proto.DeliverVerify != 0
	word := "deferred"
	switch {
	case verify && st.Success():
		word = "deliverable"
	case verify:
		word = "undeliverable"
	case st.Success():
		word = "sent"
	case st.Permanent():
		word = "bounced"
	}
	a.log.Delivery(maillog.Delivery{
		QueueID: req.QueueID, To: r.Addr, OrigTo: r.Orig, Relay: a.cfg.Service,
		Delay: now.Sub(req.Arrival), Delays: delays, DSN: st.Enhanced, Status: word, Text: st.Text,
	})
}

// result is a recipient's answer to qmgr: delivered (flag X) or relayed
// on success.
func (a *Agent) result(st *dsn.Status) proto.RcptResult {
	action := proto.ActionRelayed
	switch {
	case st.Permanent():
		action = proto.ActionFailed
	case st.Temporary():
		action = proto.ActionDelayed
	case a.cfg.Args.Flags.Final:
		action = proto.ActionDelivered
	}
	return proto.RcptResult{Status: st, Action: action, Reason: st.Text, DiagType: "X-Postfix", Diag: st.Text, Relay: a.cfg.Service}
}

func status(enhanced, text string) *dsn.Status {
	code := 550
	switch enhanced[0] {
	case '2':
		code = 250
	case '4':
		code = 450
	}
	return &dsn.Status{Code: code, Enhanced: enhanced, Text: text}
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
