// Package ident says who the mail system runs as: mail_owner, the account
// every unprivileged daemon uses and that owns the queue, and
// setgid_group, the group of maildrop/ and public/ that postdrop and
// postqueue run with.
//
// Run as root, both must exist and mail_owner must not be root. Run as an
// ordinary user (development and tests), that user is everything and no
// lookup happens.
package ident

import (
	"fmt"
	"os"
	"os/user"
	"strconv"
)

// Identity is the mail system's owner and group.
type Identity struct {
	// Root is true when the caller runs as root and the IDs below were
	// looked up; false in development mode, where they are the caller's.
	Root bool
	UID  int // mail_owner
	GID  int // mail_owner's primary group
	// SetgidGID is setgid_group's ID (the caller's group in development).
	SetgidGID int
	Owner     string
	Group     string
}

// Lookup finds mail_owner and setgid_group. Errors say how to create what
// is missing.
func Lookup(mailOwner, setgidGroup string) (Identity, error) {
	if os.Geteuid() != 0 {
		return Identity{UID: os.Getuid(), GID: os.Getgid(), SetgidGID: os.Getgid(), Owner: mailOwner, Group: setgidGroup}, nil
	}
	u, err := user.Lookup(mailOwner)
	if err != nil {
		return Identity{}, fmt.Errorf("mail_owner %q does not exist: create it with: useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin %s", mailOwner, mailOwner)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if uid == 0 {
		return Identity{}, fmt.Errorf("mail_owner %q has user ID 0: it must be an unprivileged account of its own", mailOwner)
	}
	g, err := user.LookupGroup(setgidGroup)
	if err != nil {
		return Identity{}, fmt.Errorf("setgid_group %q does not exist: create it with: groupadd --system %s", setgidGroup, setgidGroup)
	}
	sgid, _ := strconv.Atoi(g.Gid)
	if sgid == 0 {
		return Identity{}, fmt.Errorf("setgid_group %q has group ID 0: it must be a group of its own", setgidGroup)
	}
	return Identity{Root: true, UID: uid, GID: gid, SetgidGID: sgid, Owner: mailOwner, Group: setgidGroup}, nil
}

// Owners returns the uid and gid to give the queue directories: the mail
// owner and setgid_group when running as root, -1 (leave as is) otherwise.
func (id Identity) Owners() (uid, gid int) {
	if !id.Root {
		return -1, -1
	}
	return id.UID, id.SetgidGID
}
