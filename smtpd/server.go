package smtpd

import (
	"context"
	"io"
	"net"
	"net/netip"
	"strconv"

	"github.com/postern-mta/postern/internal/daemon"
	"github.com/postern-mta/postern/internal/maillog"
)

// Server serves SMTP sessions with one configuration.
type Server struct {
	cfg    *Config
	log    *maillog.Logger
	submit Submitter
	dns    DNS
}

// NewServer returns a server; submit receives the messages, dns finds
// client host names (nil: net.DefaultResolver).
func NewServer(cfg *Config, log *maillog.Logger, submit Submitter, dns DNS) *Server {
	cfg.defaults()
	if dns == nil {
		dns = net.DefaultResolver
	}
	if cfg.Checks == nil {
		cfg.Restrictions = false
	}
	return &Server{cfg: cfg, log: log, submit: submit, dns: dns}
}

// serveConn serves one client connection. A session counts as work for
// its whole life, even while the client thinks between commands: a
// graceful stop (a reload) lets it finish rather than closing it, and an
// on-demand smtpd does not exit idle while a session is open.
func (srv *Server) serveConn(ctx context.Context, dc *daemon.Conn) {
	dc.SetIdle(false)
	nc := dc.Conn
	s := newSession(ctx, srv, nc, nil, nc)
	srv.identify(s, nc.RemoteAddr())
	s.run()
}

// ServeConn serves one client on an established connection (for tests
// and for callers without daemon.ServeConns).
func (srv *Server) ServeConn(ctx context.Context, nc net.Conn) {
	s := newSession(ctx, srv, nc, nil, nc)
	srv.identify(s, nc.RemoteAddr())
	s.run()
}

// ServeStandalone runs one session on a reader and a writer: "sendmail
// -bs". The client is this machine.
func (srv *Server) ServeStandalone(ctx context.Context, r io.Reader, w io.Writer) {
	s := newSession(ctx, srv, nil, r, w)
	s.st.name, s.st.reverseName, s.st.addr = "localhost", "localhost", "127.0.0.1"
	s.run()
}

// identify fills in the client's address and host name.
func (srv *Server) identify(s *session, ra net.Addr) {
	st := &s.st
	ap, err := netip.ParseAddrPort(ra.String())
	if err != nil {
		// Not an inet connection: a local client.
		st.name, st.reverseName, st.addr, st.port = "localhost", "localhost", "127.0.0.1", "unknown"
		return
	}
	st.addr = ap.Addr().Unmap().WithZone("").String()
	st.port = strconv.Itoa(int(ap.Port()))
	if !srv.cfg.PeernameLookup {
		st.name, st.nameStatus, st.reverseName, st.revStatus = "unknown", peerTemp, "unknown", peerTemp
		return
	}
	st.name, st.nameStatus, st.reverseName, st.revStatus = clientName(s.ctx, srv.dns, st.addr, s.log.Warning)
}
