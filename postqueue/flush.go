package postqueue

import (
	"context"
	"errors"
	"net/netip"
	"strings"

	"github.com/postern-mta/postern/internal/addr"
	"github.com/postern-mta/postern/internal/dsn"
	"github.com/postern-mta/postern/internal/maps"
	"github.com/postern-mta/postern/internal/matchlist"
	"github.com/postern-mta/postern/internal/proto"
	"github.com/postern-mta/postern/queue"
)

const downText = "Cannot flush mail queue - mail system is down"

// flushQueue asks qmgr to retry all deferred mail now (-f), and pickup to
// look at maildrop.
func (p *prog) flushQueue() error {
	if err := p.checkACL("authorized_flush_users", p.cfg.FlushUsers, "flush"); err != nil {
		return err
	}
	if _, err := p.control(proto.ControlRequest{Op: proto.OpFlush}); err != nil {
		return err
	}
	// A hint: pickup scans on its own timer too.
	if err := proto.Nudge(p.cfg.PickupPath, proto.ServicePickup, proto.VersionPickup); err != nil {
		p.verbosef("wake up pickup: %v", err)
	}
	return nil
}

// flushSite asks qmgr to retry the deferred mail for one destination
// (-s), which must be in fast_flush_domains.
func (p *prog) flushSite() error {
	if err := p.checkACL("authorized_flush_users", p.cfg.FlushUsers, "flush"); err != nil {
		return err
	}
	site := p.opts.site
	if !validSite(site) {
		shown, more := site, ""
		if len(shown) > 100 {
			shown, more = shown[:100], "..."
		}
		return fatalf(exUsage, "Cannot flush mail queue - invalid destination: \"%s%s\"", shown, more)
	}
	list, err := matchlist.NewDomains(p.cfg.FastFlushDomains, p.cfg.FastFlushParent,
		maps.Options{FoldCase: true, NoReload: true, Warn: func(msg string) { p.warnf("%s", msg) }})
	if err != nil {
		return fatalf(exTempFail, "fast_flush_domains: %v", err)
	}
	ok, err := list.Match(context.Background(), strings.ToLower(site))
	if err != nil {
		return fatalf(exTempFail, "fast_flush_domains: %v", err)
	}
	if !ok {
		return fatalf(exUnavailable, "Flush service is not configured for destination \"%s\"", site)
	}
	_, err = p.control(proto.ControlRequest{Op: proto.OpFlushSite, Site: site})
	return err
}

// flushID asks qmgr to try one deferred message now (-i).
func (p *prog) flushID() error {
	if err := p.checkACL("authorized_flush_users", p.cfg.FlushUsers, "flush"); err != nil {
		return err
	}
	if !queue.ValidID(p.opts.id) {
		return fatalf(exUsage, "Invalid request: \"%s\"", p.opts.id)
	}
	_, err := p.control(proto.ControlRequest{Op: proto.OpFlushID, ID: p.opts.id})
	return err
}

// control sends a request to qmgr's public socket.
func (p *prog) control(req proto.ControlRequest) (*proto.ControlReply, error) {
	p.verbosef("sending %s to %s", req.Op, p.cfg.QmgrPath)
	r, err := proto.Control(context.Background(), p.cfg.QmgrPath, proto.ServiceQmgr, proto.VersionQmgr, req)
	var st *dsn.Status
	switch {
	case err == nil:
		p.verbosef("%d messages to be tried again", r.Count)
		return r, nil
	case errors.As(err, &st):
		return nil, fatalf(exUnavailable, "Cannot flush mail queue - %s", st.Text)
	default:
		if down, _ := isDown(err); down {
			return nil, fatalf(exUnavailable, "%s", downText)
		}
		return nil, fatalf(exUnavailable, "%s (%v)", downText, err)
	}
}

// validSite accepts a host name or an address literal in brackets, as
// postqueue -s and ETRN do.
func validSite(site string) bool {
	if strings.HasPrefix(site, "[") {
		return strings.HasSuffix(site, "]") && validLiteral(site[1:len(site)-1])
	}
	return addr.ValidHostname(site)
}

// validLiteral accepts what may stand between the brackets of an
// address literal: an IPv4 address, or "IPv6:" and an IPv6 address.
func validLiteral(s string) bool {
	if len(s) > 5 && strings.EqualFold(s[:5], "IPv6:") {
		a, err := netip.ParseAddr(s[5:])
		return err == nil && a.Is6()
	}
	a, err := netip.ParseAddr(s)
	return err == nil && a.Is4()
}
