package local

import (
	"context"
	"errors"
	"net"
	"sync"
	"time"

	"github.com/postern-mta/postern/internal/agent"
	"github.com/postern-mta/postern/internal/dsn"
	"github.com/postern-mta/postern/internal/maillog"
	"github.com/postern-mta/postern/internal/privexec"
	"github.com/postern-mta/postern/internal/privexec/mailbox"
	"github.com/postern-mta/postern/internal/proto"
	"github.com/postern-mta/postern/queue"
)

// Agent is the local delivery agent: it serves qmgr's deliver protocol
// and delivers each recipient through aliases, .forward files and
// mailboxes.
type Agent struct {
	cfg    Config
	log    *maillog.Logger
	layout *queue.Layout
	users  Users
	runner *privexec.Runner
	ownRun bool // the runner is the agent's own, closed with it
	// cleanup takes forwarded copies.
	cleanup *proto.CleanupPool

	biffOnce sync.Once
	biffConn net.Conn
}

// forwardPoolSize is how many idle connections to cleanup are kept for
// the next forwarded copy.
const forwardPoolSize = 4

// NewAgent checks cfg and prepares the agent.
func NewAgent(cfg Config, log *maillog.Logger) (*Agent, error) {
	if cfg.Resolver == nil {
		return nil, errors.New("local: no address resolver")
	}
	if cfg.Expand == nil {
		cfg.Expand = func(s string, _ map[string]string) (string, error) { return s, nil }
	}
	a := &Agent{cfg: cfg, log: log, layout: queue.NewLayout(cfg.QueueDir, cfg.HashQueues, cfg.HashDepth),
		users: cfg.Users, runner: cfg.Runner,
		cleanup: proto.NewCleanupPool(forwardPoolSize, proto.PublicPath(cfg.QueueDir, cfg.CleanupService))}
	if a.users == nil {
		a.users = SystemUsers()
	}
	if a.runner == nil {
		a.runner = &privexec.Runner{}
		a.ownRun = true
	}
	return a, nil
}

// Close ends the agent's helper processes.
func (a *Agent) Close() {
	a.cleanup.Close()
	if a.ownRun {
		a.runner.Close()
	}
	if a.biffConn != nil {
		a.biffConn.Close()
	}
}

// Serve answers delivery requests on lns (at most maxProc at once) until
// ctx ends; deliveries under way then get cfg.Grace to finish.
func (a *Agent) Serve(ctx context.Context, lns []net.Listener, maxProc int) error {
	return agent.Serve(ctx, lns, agent.Options{MaxProc: maxProc, Grace: a.cfg.Grace, IdleLimit: a.cfg.IdleLimit, Log: a.log}, a.Deliver)
}

// Deliver delivers one request: every recipient in turn, each logged, one
// result per recipient.
func (a *Agent) Deliver(ctx context.Context, req *proto.DeliverRequest) *proto.DeliverReply {
	path := a.layout.Path(req.Queue, req.QueueID)
	qf, err := queue.Open(path, false)
	if err != nil {
		a.log.Warning("%s: %v", req.QueueID, err)
		return &proto.DeliverReply{Status: dsn.Temp("4.3.0", "cannot read queue file")}
	}
	defer qf.Close()
	loops, err := mailbox.DeliveredTo(qf.Content(), a.cfg.HeaderSizeLimit)
	if err != nil {
		a.log.Warning("%s: read message headers: %v", req.QueueID, err)
		return &proto.DeliverReply{Status: dsn.Temp("4.3.0", "cannot read queue file")}
	}
	m := &message{
		a:     a,
		req:   req,
		file:  qf,
		loops: loops,
		start: time.Now(),
		dup:   newDupFilter(a.cfg.DuplicateFilterLimit),
	}
	reply := &proto.DeliverReply{Results: make([]proto.RcptResult, len(req.Recipients))}
	for i := range req.Recipients {
		reply.Results[i] = m.deliverTop(ctx, &req.Recipients[i])
	}
	return reply
}

// biff tells the comsat service that user has new mail at offset, as
// Postfix's biff = yes does. It never waits: UDP, errors ignored.
func (a *Agent) biff(user string, offset int64) {
	a.biffOnce.Do(func() {
		c, err := net.Dial("udp", "127.0.0.1:512")
		if err == nil {
			a.biffConn = c
		}
	})
	if a.biffConn != nil {
		a.biffConn.Write(append([]byte(user+"@"+itoa(offset)), 0)) //nolint:errcheck // a hint, as in Postfix
	}
}

// rootCred is the identity of the agent itself when it runs as root.
func (a *Agent) rootCred() *privexec.Cred { return &privexec.Cred{} }
