package daemon

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Confinement (the chroot column of master.cf). Master starts a chrooted
// service as root with POSTERN_CHROOT set to the queue directory and, for
// an unprivileged service, POSTERN_DROP set to mail_owner's "uid:gid". The
// daemon opens what it needs from the real file system first — its
// configuration, tables, certificates; its listeners come from master —
// and confines itself in Ready, before it serves anyone: chroot into the
// queue directory, then no supplementary groups, mail_owner's group and
// user. Master makes the queue directory's own absolute path lead back to
// the jail's root (a symbolic link), so queue and socket paths the daemon
// computed before work unchanged inside.
//
// syscall.Setgroups, Setgid and Setuid act on every thread of the process
// (Go 1.16 and later), and chroot changes the root of every thread, which
// share one file system context.

// Environment of a confined child.
const (
	EnvChroot = "POSTERN_CHROOT" // directory to chroot into
	EnvDrop   = "POSTERN_DROP"   // "uid:gid" to run as once confined
)

// confinement is what Ready does before it tells master the daemon is
// serving. The zero value does nothing.
type confinement struct {
	root     string // chroot here; "" for none
	drop     bool
	uid, gid int
}

func (c confinement) active() bool { return c.root != "" || c.drop }

// confinementFromEnv reads POSTERN_CHROOT and POSTERN_DROP. A bad value
// is an error at startup, before the daemon does anything.
func confinementFromEnv() (confinement, error) {
	var c confinement
	if dir := os.Getenv(EnvChroot); dir != "" {
		if !strings.HasPrefix(dir, "/") {
			return c, fmt.Errorf("bad %s=%q from master: not an absolute path", EnvChroot, dir)
		}
		c.root = dir
	}
	if s := os.Getenv(EnvDrop); s != "" {
		u, g, ok := strings.Cut(s, ":")
		uid, err1 := strconv.Atoi(u)
		gid, err2 := strconv.Atoi(g)
		if !ok || err1 != nil || err2 != nil || uid <= 0 || gid < 0 {
			return c, fmt.Errorf("bad %s=%q from master: want uid:gid of an account other than root", EnvDrop, s)
		}
		c.drop, c.uid, c.gid = true, uid, gid
	}
	return c, nil
}

// apply confines the process. Every error is fatal for the daemon: it
// must never serve half confined.
func (c confinement) apply() error {
	if !c.active() {
		return nil
	}
	primeBeforeChroot()
	if c.root != "" {
		if err := syscall.Chdir(c.root); err != nil {
			return fmt.Errorf("chroot to %s: chdir: %w", c.root, err)
		}
		if err := syscall.Chroot("."); err != nil {
			return fmt.Errorf("chroot to %s: %w", c.root, err)
		}
		if err := syscall.Chdir("/"); err != nil {
			return fmt.Errorf("chroot to %s: chdir /: %w", c.root, err)
		}
	}
	if !c.drop {
		return nil
	}
	if err := syscall.Setgroups([]int{}); err != nil {
		return fmt.Errorf("drop privileges: setgroups: %w", err)
	}
	if err := syscall.Setgid(c.gid); err != nil {
		return fmt.Errorf("drop privileges: setgid %d: %w", c.gid, err)
	}
	if err := syscall.Setuid(c.uid); err != nil {
		return fmt.Errorf("drop privileges: setuid %d: %w", c.uid, err)
	}
	return c.check()
}

// check verifies the drop took: real and effective IDs are the account's,
// no supplementary group is left and root cannot be regained.
func (c confinement) check() error {
	if syscall.Getuid() != c.uid || syscall.Geteuid() != c.uid || syscall.Getgid() != c.gid || syscall.Getegid() != c.gid {
		return fmt.Errorf("drop privileges: running as uid %d/%d gid %d/%d, want %d and %d",
			syscall.Getuid(), syscall.Geteuid(), syscall.Getgid(), syscall.Getegid(), c.uid, c.gid)
	}
	if groups, err := syscall.Getgroups(); err != nil || len(groups) > 0 {
		return fmt.Errorf("drop privileges: supplementary groups %v left (%v)", groups, err)
	}
	if err := syscall.Setuid(0); err == nil {
		return errors.New("drop privileges: root could be regained")
	}
	return nil
}

// primeBeforeChroot loads what the Go runtime reads from the real file
// system on first use and cannot read inside the jail: the local time
// zone (/etc/localtime, or $TZ from /usr/share/zoneinfo). Name
// resolution reads the copies master keeps in the jail's etc/.
func primeBeforeChroot() {
	// The first use of time.Local loads it.
	_ = time.Local.String()
}
