package qmqpd

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/postern-mta/postern/internal/daemon"
	"github.com/postern-mta/postern/internal/dsn"
	"github.com/postern-mta/postern/internal/maillog"
	"github.com/postern-mta/postern/internal/matchlist"
	"github.com/postern-mta/postern/internal/proto"
)

// Config is what qmqpd needs, read once by Serve.
type Config struct {
	MyHostname        string
	MailName          string
	QueueDir          string
	CleanupService    string              // cleanup_service_name
	ContentFilter     string              // content_filter of this service, passed to cleanup
	AuthorizedClients *matchlist.Networks // nil or empty: nobody
	Timeout           time.Duration       // qmqpd_timeout
	ErrorDelay        time.Duration       // qmqpd_error_delay
	MessageSizeLimit  int64
	LineLengthLimit   int64
	MaxRecipients     int
	SoftBounce        bool
	PeernameLookup    bool
	Grace             time.Duration
}

// Submitter hands a message to cleanup (Server tests give their own).
type Submitter interface {
	Submit(ctx context.Context, o *proto.CleanupOpen, build func(queueID string) []byte, content []byte) (queueID string, err error)
}

// Server serves QMQP clients.
type Server struct {
	cfg    Config
	log    *maillog.Logger
	submit Submitter
	dns    *net.Resolver
}

// NewServer returns a server.
func NewServer(cfg Config, log *maillog.Logger, submit Submitter) *Server {
	if cfg.MaxRecipients <= 0 {
		cfg.MaxRecipients = 50000
	}
	if cfg.LineLengthLimit <= 0 {
		cfg.LineLengthLimit = 2048
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 300 * time.Second
	}
	return &Server{cfg: cfg, log: log, submit: submit, dns: net.DefaultResolver}
}

// session is one QMQP connection.
type session struct {
	srv     *Server
	ctx     context.Context
	conn    net.Conn
	name    string
	addr    string
	queueID string
}

func (s *session) namaddr() string { return s.name + "[" + s.addr + "]" }

// ServeConn serves one connection: one message.
func (srv *Server) ServeConn(ctx context.Context, conn net.Conn) {
	s := &session{srv: srv, ctx: ctx, conn: conn, name: "unknown", addr: "unknown"}
	if ap, err := netip.ParseAddrPort(conn.RemoteAddr().String()); err == nil {
		s.addr = ap.Addr().Unmap().WithZone("").String()
		if srv.cfg.PeernameLookup {
			s.name = srv.verifiedName(ctx, s.addr)
		}
	}
	srv.log.Info("connect from %s", s.namaddr())
	s.serve()
	srv.log.Info("disconnect from %s", s.namaddr())
}

func (srv *Server) serveDaemon(ctx context.Context, dc *daemon.Conn) {
	dc.SetIdle(false)
	srv.ServeConn(ctx, dc.Conn)
}

// verifiedName is the client's PTR name if it resolves back to the
// client's address, else "unknown".
func (srv *Server) verifiedName(ctx context.Context, addr string) string {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	names, err := srv.dns.LookupAddr(ctx, addr)
	if err != nil || len(names) == 0 {
		return "unknown"
	}
	name := strings.TrimSuffix(names[0], ".")
	addrs, err := srv.dns.LookupHost(ctx, name)
	if err != nil {
		return "unknown"
	}
	for _, a := range addrs {
		if p, err := netip.ParseAddr(a); err == nil && p.Unmap().String() == addr {
			return name
		}
	}
	srv.log.Warning("hostname %s does not resolve to address %s", name, addr)
	return "unknown"
}

func (s *session) serve() {
	cfg := &s.srv.cfg
	a, err := netip.ParseAddr(s.addr)
	allowed := false
	if err == nil && !cfg.AuthorizedClients.Empty() {
		allowed, err = cfg.AuthorizedClients.Match(s.ctx, a, s.name)
		if err != nil {
			s.srv.log.Warning("qmqpd_authorized_clients: %v", err)
			s.reply(false, 'Z', "Error: server configuration error")
			return
		}
	}
	if !allowed {
		s.reply(false, 'D', fmt.Sprintf("Error: %s is not authorized to use this service", s.namaddr()))
		return
	}
	s.conn.SetReadDeadline(time.Now().Add(cfg.Timeout)) //nolint:errcheck // a failure shows at the read
	var st stage
	req, err := readRequest(&nsReader{r: bufio.NewReaderSize(s.conn, 16<<10)}, limits{
		message: cfg.MessageSizeLimit, line: cfg.LineLengthLimit, rcpts: cfg.MaxRecipients,
	}, &st)
	if err != nil {
		s.readError(err, st.where)
		return
	}
	if len(req.rcpts) == 0 {
		s.reply(true, 'D', "Error: no recipients specified")
		return
	}
	s.deliver(req)
}

// readError answers and logs a broken request.
func (s *session) readError(err error, where string) {
	var reason string
	var ne net.Error
	switch {
	case errors.Is(err, errFormat), errors.Is(err, errSize):
		reason = err.Error()
		s.reply(false, 'D', reason+" while "+where)
	case errors.As(err, &ne) && ne.Timeout(), errors.Is(err, os.ErrDeadlineExceeded):
		reason = "read/write timeout"
	default:
		reason = "lost connection"
	}
	s.srv.log.Info("%s: %s: %s while %s", orNoQueue(s.queueID), s.namaddr(), reason, where)
}

// deliver hands the message to cleanup and answers.
func (s *session) deliver(req *request) {
	cfg := &s.srv.cfg
	o := &proto.CleanupOpen{
		Source:  "qmqpd",
		Sender:  req.sender,
		Arrival: time.Now(),
		Attrs: []proto.Attr{
			{Name: proto.AttrClientName, Value: s.name},
			{Name: proto.AttrClientAddr, Value: s.addr},
			{Name: proto.AttrProtocol, Value: "QMQP"},
			{Name: proto.AttrRewriteContext, Value: "remote"},
			{Name: proto.AttrContentFilter, Value: cfg.ContentFilter},
		},
	}
	for _, r := range req.rcpts {
		o.Recipients = append(o.Recipients, proto.Rcpt{Addr: r, ORCPT: "rfc822;" + r})
	}
	build := func(id string) []byte {
		s.queueID = id
		s.srv.log.Info("%s: client=%s", id, s.namaddr())
		p := receivedParams{name: s.name, addr: s.addr, host: cfg.MyHostname, mailName: cfg.MailName, queueID: id, date: o.Arrival}
		if len(req.rcpts) == 1 {
			p.rcpt = req.rcpts[0]
		}
		return appendReceived(nil, p)
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(s.ctx), 100*time.Second)
	defer cancel()
	id, err := s.srv.submit.Submit(ctx, o, build, req.message)
	if err == nil {
		s.reply(false, 'K', "Ok: queued as "+id)
		return
	}
	var st *dsn.Status
	if errors.As(err, &st) {
		code := byte('D')
		if !st.Permanent() {
			code = 'Z'
		}
		s.reply(true, code, "Error: "+st.Text)
		return
	}
	s.srv.log.Warning("%s: submit to cleanup: %v", orNoQueue(s.queueID), err)
	s.reply(true, 'Z', "Error: queue file write error")
}

// reply sends the one reply netstring; errors are followed by
// qmqpd_error_delay.
func (s *session) reply(logIt bool, code byte, text string) {
	if code == 'D' && s.srv.cfg.SoftBounce {
		code = 'Z'
	}
	s.conn.SetWriteDeadline(time.Now().Add(s.srv.cfg.Timeout)) //nolint:errcheck // the write reports it
	s.conn.Write(appendNetstring(nil, string(code)+text))      //nolint:errcheck // the client is gone; nothing else to do
	if logIt {
		if code == 'K' {
			s.srv.log.Info("%s: %s: %s", orNoQueue(s.queueID), s.namaddr(), text)
		} else {
			s.srv.log.Warning("%s: %s: %s", orNoQueue(s.queueID), s.namaddr(), text)
		}
	}
	if code != 'K' && s.srv.cfg.ErrorDelay > 0 {
		t := time.NewTimer(s.srv.cfg.ErrorDelay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-s.ctx.Done():
		}
	}
}

func orNoQueue(id string) string {
	if id == "" {
		return "NOQUEUE"
	}
	return id
}
