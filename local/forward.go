package local

import (
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/postern-mta/postern/internal/agent"
	"github.com/postern-mta/postern/internal/dsn"
	"github.com/postern-mta/postern/internal/proto"
)

// dotforward expands the user's ~/.forward file (the first forward_path
// entry that exists). It reports whether the file forwarded the mail; an
// empty file, or one that names the user, leaves delivery to the mailbox.
func (d *delivery) dotforward(ctx context.Context, s state) bool {
	m := d.m
	cfg := &m.a.cfg
	if len(cfg.ForwardPath) == 0 {
		return false
	}
	pw, err := m.a.users.Lookup(s.user)
	if err != nil || pw == nil {
		return false // the mailbox step reports a lookup error
	}
	// The file is read, and its commands and files run, with the user's
	// rights; it must be the user's (or root's) and not world-writable.
	u := attrOf(pw)
	s.expType = expForward
	s.owner = s.user
	path, fi := d.findForward(s, u)
	if path == "" {
		return false
	}
	if m.verify() {
		d.sent(s, "", "forward via file: %s", path)
		return true
	}
	if m.dup.beenHere("forward " + path) {
		// Reached again through the file itself: the user's own mailbox,
		// unless the file was done with already.
		return m.dup.check("forward-done " + path)
	}
	s.expFrom = s.local
	st := fi.Sys().(*syscall.Stat_t)
	switch {
	case !fi.Mode().IsRegular():
		m.a.log.Warning("file %s is not a regular file", path)
		return false
	case st.Uid != 0 && st.Uid != u.uid:
		m.a.log.Warning("file %s has bad owner uid %d", path, st.Uid)
		return false
	case fi.Mode()&0o002 != 0:
		m.a.log.Warning("file %s is world writable", path)
		return false
	}
	fd, err := d.readAs(ctx, u, path)
	if err != nil {
		var st *dsn.Status
		if !errors.As(err, &st) {
			m.a.log.Warning("%s: read %s: %v", m.req.QueueID, path, err)
			d.fail(s, "4.3.0", "cannot read forward file")
			return true
		}
		m.a.log.Warning("cannot open file %s: %s", path, st.Text)
		return false
	}
	if (fd.UID != 0 && uint32(fd.UID) != u.uid) || fd.Mode&0o002 != 0 {
		m.a.log.Warning("file %s changed under us: owner %d, mode %v", path, fd.UID, fd.Mode)
		return false
	}
	s.notify = dropSuccess(s.notify)
	if d.list(ctx, s, u, fd.Content) == 0 {
		return false
	}
	m.dup.beenHere("forward-done " + path)
	d.expanded = true
	return true
}

// findForward returns the first forward_path file that exists, with what
// lstat says about it, or "".
func (d *delivery) findForward(s state, u userAttr) (string, os.FileInfo) {
	cfg := &d.m.a.cfg
	vars := d.expandVars(s, u, cfg.ForwardExpansionFilter)
	for _, tmpl := range cfg.ForwardPath {
		if s.ext == "" && mentions(tmpl, "extension") {
			continue // $extension is undefined: Postfix skips the entry
		}
		path, err := cfg.Expand(tmpl, vars)
		if err != nil || path == "" {
			d.m.a.log.Warning("forward_path entry %q: %v", tmpl, err)
			continue
		}
		if fi, err := os.Lstat(path); err == nil {
			return path, fi
		}
	}
	return "", nil
}

// mentions reports whether a template uses $name unconditionally.
func mentions(tmpl, name string) bool {
	return strings.Contains(tmpl, "${"+name+"}") || strings.Contains(tmpl, "$("+name+")") ||
		strings.Contains(tmpl, "$"+name)
}

// expandVars are the names local(8) expands in forward_path, luser_relay
// and command_execution_directory, with characters outside filter (when
// given) replaced by '_'.
func (d *delivery) expandVars(s state, u userAttr, filter string) map[string]string {
	v := map[string]string{
		"user":      s.user,
		"recipient": s.addr,
		"local":     s.local,
		"domain":    s.domain,
		"extension": s.ext,
	}
	if u.set {
		v["home"], v["shell"] = u.home, u.shell
	} else {
		v["home"], v["shell"] = "", ""
	}
	if filter != "" {
		for k, val := range v {
			v[k] = censor(val, filter)
		}
	}
	v["recipient_delimiter"] = d.m.a.cfg.RecipientDelimiter
	return v
}

// censor replaces every byte of s not in allowed with '_'.
func censor(s, allowed string) string {
	b := []byte(s)
	for i, c := range b {
		if strings.IndexByte(allowed, c) < 0 {
			b[i] = '_'
		}
	}
	return string(b)
}

// forwardGroup is one message to resubmit: the addresses an expansion
// sent elsewhere, with one envelope sender.
type forwardGroup struct {
	sender    string
	listOwned bool
	delivered string
	rcpts     []proto.Rcpt
	leaves    []int // positions in delivery.leaves waiting for the result
}

// indirect forwards s.addr: it goes into a new message, submitted through
// cleanup when the recipient's expansion is complete.
func (d *delivery) indirect(s state) {
	if d.m.verify() {
		d.sent(s, "", "forwards to %s", s.addr)
		return
	}
	var g *forwardGroup
	for i := range d.forwards {
		if d.forwards[i].sender == s.sender && d.forwards[i].delivered == s.delivered {
			g = &d.forwards[i]
		}
	}
	if g == nil {
		d.forwards = append(d.forwards, forwardGroup{sender: s.sender, listOwned: s.listOwned, delivered: s.delivered})
		g = &d.forwards[len(d.forwards)-1]
	}
	r := proto.Rcpt{Addr: s.addr, Notify: s.notify}
	if !s.listOwned {
		r.Orig = d.origTo
		r.ORCPT = d.rcpt.ORCPT
	}
	g.rcpts = append(g.rcpts, r)
	g.leaves = append(g.leaves, len(d.leaves))
	d.add(leaf{to: s.addr, st: dsn.OK("2.0.0", "forwarded"), action: proto.ActionExpanded, forward: true})
}

// finishForwards submits the forwarded copies and logs each forwarded
// address "forwarded as QID", or why it could not be.
func (d *delivery) finishForwards(ctx context.Context) {
	for i := range d.forwards {
		g := &d.forwards[i]
		st := d.submit(ctx, g)
		if d.m.a.cfg.SoftBounce && st.Permanent() {
			st = st.Soften()
		}
		for _, k := range g.leaves {
			l := &d.leaves[k]
			l.st = st
			switch {
			case st.Permanent():
				l.action = proto.ActionFailed
			case st.Temporary():
				l.action = proto.ActionDelayed
			}
			d.logLeaf(l)
		}
	}
}

// submit sends one forwarded copy to cleanup: the message with, as in
// Postfix, a "Received: by $myhostname ($mail_name) id QUEUEID; DATE"
// header and a Delivered-To header for loop detection, the original
// arrival time, and the DSN envelope unless a list owner took over.
func (d *delivery) submit(ctx context.Context, g *forwardGroup) *dsn.Status {
	m := d.m
	cfg := &m.a.cfg
	ctx, cancel := context.WithTimeout(ctx, cfg.ForwardTimeout)
	defer cancel()
	open := &proto.CleanupOpen{
		Source:     "local",
		Flags:      proto.CleanupNoChecks,
		Sender:     g.sender,
		Recipients: g.rcpts,
		Arrival:    m.req.Arrival,
		Attrs:      []proto.Attr{{Name: proto.AttrRewriteContext, Value: "local"}},
	}
	if !g.listOwned {
		open.DSNRet, open.DSNEnvID = m.req.DSNRet, m.req.DSNEnvID
	}
	head := "Received: by " + cfg.MyHostname + " (" + cfg.MailName + ")\n\tid " + m.req.QueueID + "; " + mailDate(time.Now()) + "\n"
	if cfg.DeliveredHeader&deliveredForward != 0 {
		head += "Delivered-To: " + strings.ToLower(g.delivered) + "\n"
	}
	content := io.MultiReader(strings.NewReader(head), m.file.Content())
	res, err := m.a.cleanup.Submit(ctx, open, content)
	if err != nil {
		var st *dsn.Status
		if errors.As(err, &st) {
			return statusOf(st)
		}
		m.a.log.Warning("%s: forward: %v", m.req.QueueID, err)
		return agent.Status("4.3.0", "mail forwarding transaction failed")
	}
	return dsn.OK("2.0.0", "forwarded as %s", res.QueueID)
}

// mailDate is a date as mail headers give it: "Sun, 22 Nov 2026 11:07:51
// +0000 (UTC)".
func mailDate(t time.Time) string {
	return t.Format("Mon, _2 Jan 2006 15:04:05 -0700 (MST)")
}
