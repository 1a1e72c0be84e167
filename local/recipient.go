package local

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/postern-mta/postern/internal/addr"
)

// maxLevel bounds the depth of the expansion tree: aliases of aliases,
// :include: files that include each other. maxSteps bounds its size, so
// that lists naming each other cannot make it explode in width.
const (
	maxLevel = 100
	maxSteps = 20000
)

// recipient delivers to one address: loop checks, then the lookup order
// of local(8).
func (d *delivery) recipient(ctx context.Context, s state, u userAttr) {
	m := d.m
	s.level++
	d.steps++
	if s.level > maxLevel || d.steps > maxSteps {
		m.a.log.Warning("%s: recipient nesting limit exceeded for %s", m.req.QueueID, s.addr)
		d.fail(s, "5.4.6", "recipient nesting limit exceeded")
		return
	}
	if m.dup.beenHere(fmt.Sprintf("recipient %d %s", s.level, s.addr)) {
		return
	}
	if m.loops[strings.ToLower(strings.TrimPrefix(s.addr, `\`))] {
		d.fail(s, "5.4.6", "mail forwarding loop for %s", s.addr)
		return
	}
	if s.delivered == "" || !m.a.cfg.FrozenDeliveredTo {
		s.delivered = s.addr
	}
	local, domain := addr.Split(strings.ToLower(s.addr))
	s.local, s.domain = addr.UnquoteLocal(local), domain
	s.user, s.ext = d.splitExtension(s.local)
	if strings.Contains(s.ext, "/") {
		m.a.log.Warning("%s: address with illegal extension: %s", m.req.QueueID, s.local)
		s.ext = ""
		s.local = s.user
	}
	if s.user == "" || s.user == `\` {
		d.fail(s, "5.1.3", "null username in \"%s\"", s.addr)
		return
	}
	d.dispatch(ctx, s, u)
}

// splitExtension splits a local part at the recipient delimiter. With
// owner_request_special, owner-x and x-request are not split at a '-'
// delimiter.
func (d *delivery) splitExtension(local string) (user, ext string) {
	delim := d.m.a.cfg.RecipientDelimiter
	if delim == "" {
		return local, ""
	}
	if d.m.a.cfg.OwnerRequestSpecial && strings.Contains(delim, "-") &&
		(strings.HasPrefix(local, "owner-") || strings.HasSuffix(local, "-request")) {
		return local, ""
	}
	u, e, _ := addr.Extension(local, delim)
	return u, e
}

// dispatch is local(8)'s lookup order for an address.
func (d *delivery) dispatch(ctx context.Context, s state, u userAttr) {
	// \user: straight to the mailbox, no aliases, no .forward.
	if strings.HasPrefix(s.addr, `\`) {
		s.addr, s.local, s.user = s.addr[1:], strings.TrimPrefix(s.local, `\`), strings.TrimPrefix(s.user, `\`)
		if !d.mailbox(ctx, s) {
			d.unknown(ctx, s, u)
		}
		return
	}
	if d.alias(ctx, s, s.local) {
		return
	}
	if s.ext != "" && d.alias(ctx, s, s.user) {
		return
	}
	// Addresses a list with an owner- alias or someone's .forward sent
	// elsewhere, and everything in an :include: file, go out as a new
	// message, so that each gets its own delivery status and the owner
	// hears of failures.
	if s.owner != "" && !strings.EqualFold(s.owner, s.user) {
		d.indirect(s)
		return
	}
	if s.expType == expInclude {
		d.indirect(s)
		return
	}
	if d.m.a.cfg.RequireHomeDirectory {
		pw, err := d.m.a.users.Lookup(s.user)
		if err != nil {
			d.m.a.log.Warning("error looking up passwd info for %s: %v", s.user, err)
			d.fail(s, "4.0.0", "user lookup error")
			return
		}
		if pw != nil {
			if _, err := os.Stat(pw.Home); err != nil {
				d.fail(s, "4.3.0", "cannot access home directory %s: %v", pw.Home, errText(err))
				return
			}
		}
	}
	if d.dotforward(ctx, s) {
		return
	}
	if d.mailbox(ctx, s) {
		return
	}
	d.unknown(ctx, s, u)
}

// errText is an error's system text without Go's "op path:" wrapping.
func errText(err error) string {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err.Error()
	}
	return err.Error()
}
