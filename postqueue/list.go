package postqueue

import (
	"context"
	"errors"
	"net"
	"os"
	"os/user"
	"strconv"
	"syscall"

	"github.com/postern-mta/postern/internal/maps"
	"github.com/postern-mta/postern/internal/matchlist"
	"github.com/postern-mta/postern/internal/proto"
	"github.com/postern-mta/postern/mailq"
)

// showQueue prints the listing (-p or -j). It comes from the showq
// service; when the mail system is down, root and the mail owner read
// the queue themselves, and everyone else is told why there is none.
func (p *prog) showQueue() error {
	if err := p.checkACL("authorized_mailq_users", p.cfg.MailqUsers, "view"); err != nil {
		return err
	}
	var pr mailq.Printer
	if p.opts.mode == modeJSON {
		pr = mailq.NewJSON(p.stdout)
	} else {
		pr = mailq.NewText(p.stdout)
	}
	ctx := context.Background()
	emit := entryWriter(pr)
	p.verbosef("asking %s for the listing", p.cfg.ShowqPath)
	err := proto.Showq(ctx, p.cfg.ShowqPath, proto.ShowqRequest{}, emit)
	if down, why := isDown(err); down {
		if !p.privileged() {
			return fatalf(exUnavailable, "Queue report unavailable - mail system is down (%s)", why)
		}
		p.warnf("Mail system is down -- accessing queue directly (%s)", why)
		opt := mailq.Options{
			EmptySender: p.cfg.EmptySender,
			Warn:        func(msg string) { p.warnf("%s", msg) },
		}
		err = mailq.Scan(ctx, p.cfg.Layout, opt, emit)
	}
	switch {
	case isWriteError(err):
		return fatalf(exIOErr, "output write error: %v", err)
	case err != nil:
		return fatalf(exTempFail, "%v", err)
	}
	if err := pr.Close(); err != nil {
		return fatalf(exIOErr, "output write error: %v", err)
	}
	return nil
}

// isDown tells a service that could not be reached (the mail system is
// down, or the socket is missing) from a failure after it answered, and
// says why in a few words.
func isDown(err error) (bool, string) {
	var op *net.OpError
	if err == nil || !errors.As(err, &op) || op.Op != "dial" {
		return false, ""
	}
	why := op.Err.Error()
	var errno syscall.Errno
	if errors.As(op.Err, &errno) {
		why = errno.Error()
	}
	return true, "connect to the showq service: " + why
}

// writeError marks a failure to write the listing.
type writeError struct{ error }

func isWriteError(err error) bool {
	var we *writeError
	return errors.As(err, &we)
}

// privileged reports whether the caller may read the queue itself: root,
// the mail owner, or (development mode) the owner of the queue directory.
func (p *prog) privileged() bool {
	if p.uid == 0 {
		return true
	}
	if u, err := user.Lookup(p.cfg.MailOwner); err == nil && u.Uid == strconv.Itoa(p.uid) {
		return true
	}
	fi, err := os.Stat(p.cfg.QueueDir)
	if err != nil {
		return false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && int(st.Uid) == p.uid
}

// checkACL applies authorized_mailq_users or authorized_flush_users:
// root and the mail owner always pass; anyone else's login name must
// match the list.
func (p *prog) checkACL(param string, items []string, what string) error {
	if p.uid == 0 || p.privileged() {
		return nil
	}
	name := "unknown"
	if u, err := user.LookupId(strconv.Itoa(p.uid)); err == nil {
		name = u.Username
	}
	list, err := matchlist.NewDomains(items, false, maps.Options{FoldCase: true, NoReload: true,
		Warn: func(msg string) { p.warnf("%s", msg) }})
	if err != nil {
		return fatalf(exTempFail, "%s: %v", param, err)
	}
	ok, err := list.Match(context.Background(), name)
	if err != nil {
		return fatalf(exTempFail, "%s: %v", param, err)
	}
	if !ok {
		return fatalf(exNoPerm, "User %s(%d) is not allowed to %s the mail queue", name, p.uid, what)
	}
	return nil
}

// entryWriter wraps a printer's errors as write errors.
func entryWriter(pr mailq.Printer) func(*proto.QueueEntry) error {
	return func(e *proto.QueueEntry) error {
		if err := pr.Entry(e); err != nil {
			return &writeError{err}
		}
		return nil
	}
}
