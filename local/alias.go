package local

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/postern-mta/postern/internal/agent"
	"github.com/postern-mta/postern/internal/dsn"
	"github.com/postern-mta/postern/internal/maps"
	"github.com/postern-mta/postern/internal/privexec"
)

// maxListFile bounds a .forward or :include: file read into memory.
const maxListFile = 1 << 20

// alias expands name through alias_maps. It reports whether the alias
// existed (then everything is recorded), false to go on with .forward and
// the mailbox.
func (d *delivery) alias(ctx context.Context, s state, name string) bool {
	m := d.m
	cfg := &m.a.cfg
	// An alias that lists its own name delivers to the user.
	if s.expFrom != "" && strings.EqualFold(s.expFrom, name) {
		return false
	}
	if s.level > maxLevel {
		m.a.log.Warning("%s: alias database loop for %s", m.req.QueueID, name)
		d.fail(s, "5.4.6", "alias database loop for %s", name)
		return true
	}
	for _, t := range cfg.AliasMaps {
		value, found, err := t.Lookup(ctx, name)
		if err != nil {
			m.a.log.Warning("%s: %s: lookup of %s: %v", m.req.QueueID, t.Name(), name, err)
			d.fail(s, "4.3.0", "alias database unavailable")
			return true
		}
		if !found {
			continue
		}
		if m.verify() {
			d.sent(s, "", "aliased to %s", value)
			return true
		}
		s.expFrom = name
		s.expType = expAlias
		// Commands and files of an alias run with the rights of the
		// alias file's owner; a root-owned file gives none (they use
		// default_privs).
		var u userAttr
		if uid, ok := sourceOwner(t); ok && uid != 0 {
			pw, err := m.a.users.LookupUID(uid)
			if err != nil || pw == nil {
				m.a.log.Warning("%s: cannot find alias database owner for %s", m.req.QueueID, t.Name())
				d.fail(s, "4.3.0", "cannot find alias database owner")
				return true
			}
			u = attrOf(pw)
		}
		// A list with an owner- alias sends its copies from the owner, who
		// gets their failures.
		s.owner = ""
		if cfg.OwnerRequestSpecial {
			ownerName := "owner-" + name
			if rhs, found, err := lookupAliases(ctx, cfg.AliasMaps, ownerName); err != nil {
				d.fail(s, "4.3.0", "alias database unavailable")
				return true
			} else if found {
				owner := ownerName
				if cfg.ExpandOwnerAlias {
					owner = rhs
				}
				s.owner = d.canonical(owner)
				s.sender = s.owner
				s.listOwned = true
			}
		}
		targets, err := maps.ParseAliasValue(value)
		if err != nil || len(targets) == 0 {
			m.a.log.Warning("%s: no recipient in alias lookup result for %s", m.req.QueueID, name)
			d.fail(s, "4.3.0", "alias database unavailable")
			return true
		}
		d.expanded = true
		s.notify = dropSuccess(s.notify)
		for _, tg := range targets {
			d.token(ctx, s, u, tg)
		}
		return true
	}
	return false
}

// lookupAliases asks each alias table in turn.
func lookupAliases(ctx context.Context, tables []maps.Table, name string) (string, bool, error) {
	for _, t := range tables {
		v, found, err := t.Lookup(ctx, name)
		if err != nil || found {
			return v, found, err
		}
	}
	return "", false, nil
}

// sourceOwner returns the owner of the file a table reads.
func sourceOwner(t maps.Table) (uint32, bool) {
	src, ok := t.(maps.Source)
	if !ok {
		return 0, false
	}
	fi, err := os.Stat(src.SourceFile())
	if err != nil {
		return 0, false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return st.Uid, true
}

// canonical makes a bare name an address in $myorigin.
func (d *delivery) canonical(a string) string {
	if strings.Contains(a, "@") || a == "" {
		return a
	}
	return a + "@" + d.m.a.cfg.MyOrigin
}

// token delivers to one item of an alias, .forward or :include: list.
func (d *delivery) token(ctx context.Context, s state, u userAttr, tg maps.AliasTarget) {
	cfg := &d.m.a.cfg
	switch tg.Kind {
	case maps.AliasFile:
		d.file(ctx, s, u, tg.Value)
	case maps.AliasCommand:
		if cfg.AllowCommands&s.expType == 0 {
			d.fail(s, "5.7.1", "mail to command is restricted")
			return
		}
		d.command(ctx, s, u, tg.Value)
	case maps.AliasInclude:
		d.include(ctx, s, u, tg.Value)
	default:
		if strings.HasPrefix(tg.Value, "~") {
			d.homeFile(ctx, s, u, tg.Value)
			return
		}
		d.resolveAddr(ctx, s, u, tg.Value)
	}
}

// homeFile delivers to ~/path, a file in the home of the user whose rights
// apply.
func (d *delivery) homeFile(ctx context.Context, s state, u userAttr, path string) {
	switch {
	case !strings.HasPrefix(path, "~/"):
		d.fail(s, "5.1.3", "bad home directory syntax for: %s", path)
	case !u.set || u.home == "":
		d.fail(s, "5.1.3", "unknown home directory for: %s", path)
	default:
		d.file(ctx, s, u, filepath.Join(u.home, path[2:])+trailingSlash(path))
	}
}

func trailingSlash(p string) string {
	if strings.HasSuffix(p, "/") {
		return "/"
	}
	return ""
}

// resolveAddr delivers to an address from a list: at once when it is this
// agent's, as a forwarded copy otherwise.
func (d *delivery) resolveAddr(ctx context.Context, s state, u userAttr, a string) {
	backslash := strings.HasPrefix(a, `\`)
	a = d.canonical(strings.TrimPrefix(a, `\`))
	res, err := d.m.a.cfg.Resolver.Resolve(ctx, a)
	if err != nil {
		d.m.a.log.Warning("%s: resolve %s: %v", d.m.req.QueueID, a, err)
		d.fail(s, "4.3.0", "address resolver failure")
		return
	}
	s.addr = res.Recipient
	if backslash {
		s.addr = `\` + s.addr
	}
	if res.Transport == d.m.a.cfg.Service {
		d.recipient(ctx, s, u)
		return
	}
	d.indirect(s)
}

// include expands an :include: file.
func (d *delivery) include(ctx context.Context, s state, u userAttr, path string) {
	m := d.m
	s.level++
	if s.level > maxLevel {
		m.a.log.Warning("%s: :include: nesting limit exceeded for %s", m.req.QueueID, path)
		d.fail(s, "5.4.6", ":include: nesting limit exceeded")
		return
	}
	if m.dup.beenHere(fmt.Sprintf("include %d %s", u.uid, path)) {
		return
	}
	s.expFrom = s.local
	configError := func(format string, args ...any) {
		m.a.log.Warning("%s: "+format, append([]any{m.req.QueueID}, args...)...)
		d.fail(s, "5.3.5", "mail system configuration error")
	}
	if !filepath.IsAbs(path) {
		configError(":include:%s uses a relative path", path)
		return
	}
	fi, err := os.Stat(path)
	if err != nil {
		configError("unable to lookup :include: file %s: %s", path, errText(err))
		return
	}
	if !fi.Mode().IsRegular() {
		configError(":include: file %s is not a regular file", path)
		return
	}
	if fi.Mode()&0o002 != 0 {
		configError(":include: file %s is world writable", path)
		return
	}
	s.expType = expInclude
	// A root alias including a user's file uses that user's rights, so
	// that the file's owner cannot act as default_privs.
	if !u.set || u.uid == 0 {
		owner := fi.Sys().(*syscall.Stat_t).Uid
		pw, err := m.a.users.LookupUID(owner)
		if err != nil || pw == nil {
			m.a.log.Warning("%s: %s: cannot find :include: file owner username", m.req.QueueID, path)
			d.fail(s, "4.3.5", "mail system configuration error")
			return
		}
		if pw.UID != 0 {
			u = attrOf(pw)
		}
	}
	if s.owner == "" {
		s.owner = s.addr
	}
	fd, err := d.readAs(ctx, u, path)
	if err != nil {
		var st *dsn.Status
		if !errors.As(err, &st) {
			d.failStatus(s, agent.Status("4.3.0", "cannot read include file"))
			m.a.log.Warning("%s: %v", m.req.QueueID, err)
			return
		}
		configError("cannot open include file %s: %s", path, st.Text)
		return
	}
	if fd.Mode&0o002 != 0 {
		configError(":include: file %s is world writable", path)
		return
	}
	d.expanded = true
	d.list(ctx, s, u, fd.Content)
}

// readAs reads a list file with u's rights (root's when u has none). The
// result says who owns the file that was actually read, for the caller to
// check again: the file may have changed since it was looked at.
func (d *delivery) readAs(ctx context.Context, u userAttr, path string) (*privexec.FileData, error) {
	cred := d.m.a.rootCred()
	if u.set {
		cred.UID, cred.GID = u.uid, u.gid
	}
	return d.m.a.runner.ReadFile(ctx, cred, path, maxListFile, d.m.a.cfg.StepTimeout)
}

// list delivers to every item of a .forward or :include: file and returns
// how many there were. Lines starting with '#' are comments; a line that
// cannot be parsed is logged and skipped.
func (d *delivery) list(ctx context.Context, s state, u userAttr, data []byte) int {
	count := 0
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimRight(line, "\r")
		if strings.HasPrefix(line, "#") || strings.TrimSpace(line) == "" {
			continue
		}
		targets, err := maps.ParseAliasValue(line)
		if err != nil {
			d.m.a.log.Warning("%s: %s: skipping line %q", d.m.req.QueueID, err, line)
			continue
		}
		for _, tg := range targets {
			count++
			d.token(ctx, s, u, tg)
		}
	}
	return count
}
