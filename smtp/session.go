package smtp

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/postern-mta/postern/internal/dsn"
)

// target is one server to try: an address of an MX host, of a [host], or
// a Unix socket.
type target struct {
	host    string // the server's name (MX host, next-hop host, or myhostname for a socket)
	addr    netip.Addr
	port    int
	unix    string // socket path; unixTxt is how the next hop wrote it
	unixTxt string
	nexthop string // the destination it serves (TLS name checks, loop messages)
	pref    int    // MX preference
	best    bool   // among the most preferred MX hosts
}

// label is "host[addr]", the way Postfix names a server in texts.
func (t target) label() string {
	if t.unix != "" {
		return t.host + "[" + t.unixTxt + "]"
	}
	return t.host + "[" + t.addr.String() + "]"
}

// relay is "host[addr]:port" (a socket has no port).
func (t target) relay() string {
	if t.unix != "" {
		return t.label()
	}
	return t.label() + ":" + strconv.Itoa(t.port)
}

// features are what a server's EHLO/LHLO reply offered.
type features struct {
	esmtp, pipelining, eightbit, smtputf8, dsn, starttls bool
	sizeOffered                                          bool
	size                                                 int64 // 0: no limit given
}

// session is an open, greeted connection to one server.
type session struct {
	*conn
	t     target
	label string // host[addr]
	relay string // host[addr]:port
	key   string // connection cache key
	ext   features
	tls   bool
	born  time.Time
	uses  int
	// reused: taken from the connection cache for this transaction, so a
	// first read that finds it closed means "stale", not "failed".
	reused bool
	timer  *time.Timer // idle timer while cached
}

// connect opens a session to t: TCP or Unix connection, greeting,
// EHLO/LHLO and, by policy, STARTTLS. plain skips STARTTLS (the retry
// after a failed opportunistic handshake).
func (a *Agent) connect(ctx context.Context, t target, plain bool) (*session, *failure) {
	nc, err := a.dial(ctx, t)
	if err != nil {
		if ctx.Err() != nil {
			return nil, interrupted()
		}
		return nil, connectFailure(t, err)
	}
	s := &session{conn: newConn(nc), t: t, label: t.label(), relay: t.relay(), born: time.Now()}
	unbind := s.bind(ctx)
	f := a.handshake(ctx, s, plain)
	unbind()
	if f != nil {
		s.close()
		return nil, f
	}
	return s, nil
}

func (a *Agent) dial(ctx context.Context, t target) (net.Conn, error) {
	d := net.Dialer{Timeout: a.cfg.Timeouts.Connect}
	if d.Timeout <= 0 {
		d.Timeout = defaultConnectTimeout
	}
	if t.unix != "" {
		return d.DialContext(ctx, "unix", t.unix)
	}
	if t.addr.Is4() && a.cfg.BindAddr4.IsValid() {
		d.LocalAddr = &net.TCPAddr{IP: a.cfg.BindAddr4.AsSlice()}
	} else if t.addr.Is6() && a.cfg.BindAddr6.IsValid() {
		d.LocalAddr = &net.TCPAddr{IP: a.cfg.BindAddr6.AsSlice()}
	}
	return d.DialContext(ctx, "tcp", netip.AddrPortFrom(t.addr, uint16(t.port)).String())
}

// defaultConnectTimeout bounds a connection attempt when the connect
// timeout is 0 ("the system's"), which could otherwise take minutes.
const defaultConnectTimeout = 75 * time.Second

// handshake reads the greeting, says EHLO (or LHLO, or HELO) and starts
// TLS when the policy asks for it.
func (a *Agent) handshake(ctx context.Context, s *session, plain bool) *failure {
	to := a.cfg.Timeouts
	r, err := s.reply(to.Helo)
	if err != nil {
		return a.ioFail(ctx, s, "receiving the initial server greeting", err, true)
	}
	if r.class() != 2 {
		return refused(s, r, a.cfg.Skip5xxGreeting)
	}
	esmtp := a.cfg.LMTP || (a.cfg.AlwaysEHLO || strings.Contains(strings.ToUpper(r.text), "ESMTP")) && !a.cfg.NeverEHLO
	if f := a.hello(ctx, s, esmtp); f != nil {
		return f
	}
	level := a.tls.Level
	if plain {
		level = tlsNone
	}
	switch {
	case level == tlsNone:
		return nil
	case s.ext.starttls:
		return a.startTLS(ctx, s, level)
	case level >= tlsEncrypt:
		f := localFailure("4.7.4", true, "TLS is required, but was not offered by host %s", s.label)
		return f
	}
	return nil
}

// hello sends EHLO (or LHLO) and falls back to HELO when a server does not
// know EHLO.
func (a *Agent) hello(ctx context.Context, s *session, esmtp bool) *failure {
	to := a.cfg.Timeouts
	verb := "EHLO"
	if a.cfg.LMTP {
		verb = "LHLO"
	}
	if esmtp {
		s.command(verb + " " + a.cfg.HeloName)
		r, err := a.exchange(s, to.Helo)
		if err != nil {
			return a.ioFail(ctx, s, "performing the "+verb+" handshake", err, true)
		}
		switch {
		case r.class() == 2:
			s.ext = a.parseEHLO(r)
			return a.checkLoop(s, r)
		case r.code == 421 || a.cfg.LMTP:
			return refused(s, r, false)
		}
	}
	s.command("HELO " + a.cfg.HeloName)
	r, err := a.exchange(s, to.Helo)
	if err != nil {
		return a.ioFail(ctx, s, "performing the HELO handshake", err, true)
	}
	if r.class() != 2 {
		return refused(s, r, false)
	}
	s.ext = features{}
	return a.checkLoop(s, r)
}

// exchange sends what is buffered and reads one reply.
func (a *Agent) exchange(s *session, timeout time.Duration) (*reply, error) {
	if err := s.flush(timeout); err != nil {
		return nil, err
	}
	return s.reply(timeout)
}

// parseEHLO reads the keywords of an EHLO/LHLO reply, less those
// smtp_discard_ehlo_keywords hides.
func (a *Agent) parseEHLO(r *reply) features {
	f := features{esmtp: true}
	for _, line := range r.lines[1:] {
		kw, param, _ := strings.Cut(line, " ")
		if k, p, ok := strings.Cut(kw, "="); ok { // old AUTH=LOGIN style
			kw, param = k, p
		}
		kw = strings.ToUpper(kw)
		if a.cfg.DiscardEHLO[kw] {
			continue
		}
		switch kw {
		case "PIPELINING":
			f.pipelining = true
		case "8BITMIME":
			f.eightbit = true
		case "SMTPUTF8":
			f.smtputf8 = true
		case "DSN":
			f.dsn = true
		case "STARTTLS":
			f.starttls = true
		case "SIZE":
			f.sizeOffered = true
			if n, err := strconv.ParseInt(strings.TrimSpace(param), 10, 64); err == nil && n > 0 {
				f.size = n
			}
		}
	}
	if f.smtputf8 {
		f.eightbit = true // a server that takes UTF-8 takes 8-bit text
	}
	return f
}

// checkLoop refuses a server that answers HELO/EHLO with our own name:
// the mail would come back here.
func (a *Agent) checkLoop(s *session, r *reply) *failure {
	if a.cfg.LMTP || a.cfg.MyHostname == "" || len(r.lines) == 0 {
		return nil
	}
	name, _, _ := strings.Cut(r.lines[0], " ")
	if !strings.EqualFold(name, a.cfg.MyHostname) {
		return nil
	}
	a.log.Warning("host %s replied to HELO/EHLO with my own hostname %s", s.relay, a.cfg.MyHostname)
	enh := "4.4.6"
	if s.t.best {
		enh = "5.4.6"
	}
	return localFailure(enh, true, "mail for %s loops back to myself", s.t.nexthop)
}

// startTLS sends STARTTLS, does the handshake and says EHLO again.
func (a *Agent) startTLS(ctx context.Context, s *session, level int) *failure {
	to := a.cfg.Timeouts
	s.command("STARTTLS")
	r, err := a.exchange(s, to.StartTLS)
	if err != nil {
		return a.ioFail(ctx, s, "receiving the STARTTLS response", err, true)
	}
	if r.class() != 2 {
		if level >= tlsEncrypt {
			f := refused(s, r, false)
			f.reason = fmt.Sprintf("TLS is required, but host %s refused to start TLS: %s", s.label, r.text)
			return f
		}
		return nil // carry on in plain text
	}
	if s.br.Buffered() > 0 {
		// Bytes after the 220 before the handshake: someone is injecting
		// commands into the session (CVE-2011-0411 style).
		return localFailure("4.7.0", true, "unexpected server message from %s before the TLS handshake", s.label)
	}
	tc := tls.Client(s.nc, a.tls.config(s.t.host, s.t.nexthop))
	s.nc.SetDeadline(time.Now().Add(to.StartTLS)) //nolint:errcheck // a failed handshake says it
	hctx, cancel := context.WithTimeout(ctx, to.StartTLS)
	err = tc.HandshakeContext(hctx)
	cancel()
	switch {
	case err == nil:
	case ctx.Err() != nil:
		return interrupted()
	case errors.Is(err, errNotVerified):
		a.log.Info("server certificate not verified: %s: %v", s.relay, err)
		return localFailure("4.7.5", true, "Server certificate not verified")
	default:
		a.log.Warning("TLS handshake with %s failed: %v", s.relay, err)
		f := localFailure("4.7.5", level >= tlsEncrypt, "Cannot start TLS: handshake failure")
		f.plain = level == tlsMay
		return f
	}
	s.swap(tc)
	s.tls = true
	if a.tls.LogLevel >= 1 {
		trust := "Untrusted"
		if level >= tlsVerify {
			trust = "Verified"
		}
		a.log.Info("%s TLS connection established to %s: %s", trust, s.relay, tlsSummary(tc.ConnectionState()))
	}
	if f := a.hello(ctx, s, true); f != nil {
		return f
	}
	return nil
}

// ioFail words a broken conversation. site marks a failure before the
// session was usable.
func (a *Agent) ioFail(ctx context.Context, s *session, stage string, err error, site bool) *failure {
	if ctx.Err() != nil {
		return interrupted()
	}
	f := ioFailure(s, stage, err)
	f.site = site
	return f
}

// interrupted is the result of a delivery cut short by a stop.
func interrupted() *failure {
	return &failure{st: dsn.Temp("4.3.0", "delivery interrupted: the mail system is stopping"), reason: "delivery interrupted: the mail system is stopping"}
}
