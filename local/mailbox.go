package local

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/postern-mta/postern/internal/dsn"
	"github.com/postern-mta/postern/internal/maps"
	"github.com/postern-mta/postern/internal/privexec"
	"github.com/postern-mta/postern/internal/privexec/mailbox"
	"github.com/postern-mta/postern/internal/proto"
)

// mailbox delivers to the user's mailbox: another transport
// (mailbox_transport), a command (mailbox_command), a Maildir or an mbox.
// It reports false when there is no such user.
func (d *delivery) mailbox(ctx context.Context, s state) bool {
	m := d.m
	cfg := &m.a.cfg
	if m.dup.beenHere("mailbox " + s.local) {
		return true
	}
	if transport, ok := d.mapLookup(ctx, s, cfg.MailboxTransportMaps, s.user); !ok {
		return true
	} else if transport != "" {
		d.pass(ctx, s, transport)
		return true
	}
	if cfg.MailboxTransport != "" {
		d.pass(ctx, s, cfg.MailboxTransport)
		return true
	}
	pw, err := m.a.users.Lookup(s.user)
	if err != nil {
		m.a.log.Warning("error looking up passwd info for %s: %v", s.user, err)
		d.fail(s, "4.0.0", "user lookup error")
		return true
	}
	if pw == nil {
		return false
	}
	u := attrOf(pw)
	if command, ok := d.mapLookup(ctx, s, cfg.MailboxCommandMaps, s.user); !ok {
		return true
	} else if command != "" {
		d.command(ctx, s, u, command)
		return true
	}
	switch {
	case cfg.MailboxCommand != "":
		d.command(ctx, s, u, cfg.MailboxCommand)
	case strings.HasSuffix(cfg.HomeMailbox, "/"):
		d.maildir(ctx, s, u.credOf(), filepath.Join(u.home, cfg.HomeMailbox)+"/")
	case cfg.HomeMailbox == "" && strings.HasSuffix(cfg.MailSpoolDirectory, "/"):
		d.maildir(ctx, s, u.credOf(), cfg.MailSpoolDirectory+s.user+"/")
	default:
		d.mboxFile(ctx, s, u)
	}
	return true
}

func (u userAttr) credOf() *privexec.Cred { return &privexec.Cred{UID: u.uid, GID: u.gid} }

// mapLookup looks key up in an optional per-user table. ok is false when
// the lookup failed (the failure is recorded).
func (d *delivery) mapLookup(ctx context.Context, s state, t maps.Table, key string) (value string, ok bool) {
	if t == nil {
		return "", true
	}
	v, found, err := t.Lookup(ctx, key)
	if err != nil {
		d.m.a.log.Warning("%s: %s: lookup of %s: %v", d.m.req.QueueID, t.Name(), key, err)
		d.fail(s, "4.3.0", "table lookup failure")
		return "", false
	}
	if !found {
		return "", true
	}
	return v, true
}

// mboxFile appends to the user's mbox: ~/$home_mailbox, or
// $mail_spool_directory/user.
func (d *delivery) mboxFile(ctx context.Context, s state, u userAttr) {
	m := d.m
	cfg := &m.a.cfg
	if m.verify() {
		d.sent(s, proto.ActionDelivered, "delivers to mailbox")
		return
	}
	path := filepath.Join(cfg.MailSpoolDirectory, s.user)
	spool := true
	if cfg.HomeMailbox != "" {
		path, spool = filepath.Join(u.home, cfg.HomeMailbox), false
	}
	cred := u.credOf()
	locking := cfg.Locking
	// In a spool directory users may not write (Debian's /var/mail is
	// root:mail 2775), the agent creates the mailbox and takes the
	// dot-lock as root; the helper writes as the user. A group-writable
	// spool is written with its group, a world-writable one as the user.
	var unlock func()
	if spool && privexec.Privileged() {
		if fi, err := os.Stat(cfg.MailSpoolDirectory); err == nil && fi.Mode()&0o002 == 0 {
			if fi.Mode()&0o020 != 0 {
				cred.GID = fi.Sys().(*syscall.Stat_t).Gid
			} else {
				if err := mailbox.PrepareMbox(path, int(u.uid), int(u.gid)); err != nil {
					d.mailboxFailedStatus(s, path, mailbox.FileStatus(err))
					return
				}
				if locking.Dotlock {
					release, err := locking.DotlockFile(path)
					if err != nil {
						d.mailboxFailedStatus(s, path, mailbox.FileStatus(err))
						return
					}
					unlock = release
					locking.Dotlock = false
				}
			}
		}
	}
	if unlock != nil {
		defer unlock()
	}
	delivered := ""
	if cfg.DeliveredHeader&deliveredFile != 0 {
		delivered = s.delivered
	}
	msg := d.formatted(mailbox.Mbox(m.req.Sender, d.origTo, delivered, time.Now()))
	defer msg.Close()
	out, err := mailbox.DeliverMbox(ctx, m.a.runner, cred, mailbox.MboxParams{
		Path:        path,
		Locking:     locking,
		Create:      true,
		StrictOwner: cfg.StrictMailboxOwnership,
		SizeLimit:   cfg.MailboxSizeLimit,
	}, msg, cfg.StepTimeout)
	if err != nil {
		m.a.log.Warning("%s: mailbox %s: %v", m.req.QueueID, path, err)
		d.mailboxFailed(s, path, "cannot run the delivery as the user")
		return
	}
	d.warnings(out.Warnings)
	if out.Status != nil {
		if out.Status.Enhanced == "4.2.0" && strings.Contains(out.Status.Text, "not owned by recipient") {
			m.a.log.Warning(`specify "strict_mailbox_ownership = no" to ignore mailbox ownership mismatch`)
		}
		d.mailboxFailedStatus(s, path, out.Status)
		return
	}
	d.sent(s, proto.ActionDelivered, "delivered to mailbox")
	if cfg.Biff {
		m.a.biff(u.name, out.Offset)
	}
}

func (d *delivery) mailboxFailed(s state, path, reason string) {
	d.fail(s, "4.2.0", "cannot update mailbox %s for user %s. %s", path, s.user, reason)
}

func (d *delivery) mailboxFailedStatus(s state, path string, st *dsn.Status) {
	d.fail(s, st.Enhanced, "cannot update mailbox %s for user %s. %s", path, s.user, st.Text)
}

// maildir delivers to a Maildir with cred's rights.
func (d *delivery) maildir(ctx context.Context, s state, cred *privexec.Cred, dir string) {
	m := d.m
	cfg := &m.a.cfg
	if m.verify() {
		d.sent(s, proto.ActionDelivered, "delivers to maildir")
		return
	}
	delivered := ""
	if cfg.DeliveredHeader&deliveredFile != 0 {
		delivered = s.delivered
	}
	msg := d.formatted(mailbox.Maildir(m.req.Sender, d.origTo, delivered))
	defer msg.Close()
	out, err := mailbox.DeliverMaildir(ctx, m.a.runner, cred, mailbox.MaildirParams{
		Dir:       dir,
		Hostname:  cfg.Hostname,
		SizeLimit: cfg.MailboxSizeLimit,
	}, msg, cfg.StepTimeout)
	if err != nil {
		m.a.log.Warning("%s: maildir %s: %v", m.req.QueueID, dir, err)
		d.fail(s, "4.3.0", "maildir delivery failed: cannot run the delivery as the user")
		return
	}
	d.warnings(out.Warnings)
	if out.Status != nil {
		d.fail(s, out.Status.Enhanced, "maildir delivery failed: %s", out.Status.Text)
		return
	}
	d.sent(s, proto.ActionDelivered, "delivered to maildir")
}

func (d *delivery) warnings(ws []string) {
	for _, w := range ws {
		d.m.a.log.Warning("%s", w)
	}
}

// pass hands the recipient to another transport's agent
// ("transport[:nexthop]"), as mailbox_transport and fallback_transport
// do. That agent logs the delivery.
func (d *delivery) pass(ctx context.Context, s state, transport string) {
	m := d.m
	name, nexthop, _ := strings.Cut(transport, ":")
	if nexthop == "" {
		nexthop = m.req.Nexthop
	}
	ctx, cancel := context.WithTimeout(ctx, m.a.cfg.PassTimeout)
	defer cancel()
	cl, err := proto.DialDeliver(ctx, proto.PrivatePath(m.a.cfg.QueueDir, name))
	if err != nil {
		m.a.log.Warning("%s: pass to %s: %v", m.req.QueueID, name, err)
		d.fail(s, "4.3.0", "mail transport unavailable")
		return
	}
	defer cl.Close()
	req := *m.req
	req.Transport, req.Nexthop = name, nexthop
	r := *d.rcpt
	r.Addr = s.addr
	req.Recipients = []proto.DeliverRcpt{r}
	reply, err := cl.Deliver(ctx, &req, m.a.cfg.PassTimeout)
	if err != nil {
		m.a.log.Warning("%s: pass to %s: %v", m.req.QueueID, name, err)
		d.fail(s, "4.3.0", "mail transport unavailable")
		return
	}
	if reply.Status != nil {
		d.failStatus(s, statusOf(reply.Status))
		return
	}
	res := reply.Results[0]
	st := statusOf(res.Status)
	if res.Reason != "" {
		st.Text = res.Reason
	}
	d.add(leaf{to: s.addr, st: st, action: res.Action, logged: true})
}

// unknown handles a recipient with no alias and no account:
// fallback_transport, luser_relay, or a bounce.
func (d *delivery) unknown(ctx context.Context, s state, u userAttr) {
	m := d.m
	cfg := &m.a.cfg
	if transport, ok := d.mapLookup(ctx, s, cfg.FallbackTransportMaps, s.user); !ok {
		return
	} else if transport != "" {
		d.pass(ctx, s, transport)
		return
	}
	if cfg.FallbackTransport != "" {
		d.pass(ctx, s, cfg.FallbackTransport)
		return
	}
	if cfg.LuserRelay != "" {
		relay, err := cfg.Expand(cfg.LuserRelay, d.expandVars(s, u, ""))
		if err != nil || relay == "" {
			m.a.log.Warning("luser_relay = %s: %v", cfg.LuserRelay, err)
			d.fail(s, "4.3.5", "mail system configuration error")
			return
		}
		d.resolveAddr(ctx, s, u, relay)
		return
	}
	d.fail(s, "5.1.1", "unknown user: \"%s\"", s.local)
}
