package privexec

import (
	"os"
	"strconv"
	"syscall"
)

// Cred is the identity a step runs with: a user ID and a group ID, which is
// also the only supplementary group.
type Cred struct {
	UID uint32 `json:"uid"`
	GID uint32 `json:"gid"`
}

// String gives "uid/gid" for messages.
func (c *Cred) String() string {
	if c == nil {
		return "caller"
	}
	return strconv.FormatUint(uint64(c.UID), 10) + "/" + strconv.FormatUint(uint64(c.GID), 10)
}

// privileged reports whether this process may change credentials. It is a
// variable so that tests can see both modes.
var privileged = os.Geteuid() == 0

// Privileged reports whether steps really change identity: true when the
// process runs as root. Otherwise every step runs as the caller.
func Privileged() bool { return privileged }

// sysCred turns c into the credential a child starts with: nil (no change)
// when c is nil or the process is not root.
func sysCred(c *Cred) *syscall.Credential {
	if c == nil || !privileged {
		return nil
	}
	return &syscall.Credential{Uid: c.UID, Gid: c.GID, Groups: []uint32{c.GID}}
}

// key names the helpers that may serve c.
func (c *Cred) key() string {
	if c == nil || !privileged {
		return "caller"
	}
	return c.String()
}

// Effective returns the user ID a step with c runs as: c.UID as root, the
// caller's own otherwise. Ownership checks compare against it.
func Effective(c *Cred) (uid, gid int) {
	if c == nil || !privileged {
		return os.Geteuid(), os.Getegid()
	}
	return int(c.UID), int(c.GID)
}
