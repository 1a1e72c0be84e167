package privexec

import (
	"errors"
	"fmt"
	"os/user"
	"strconv"
	"strings"
)

// ServiceUser finds the account of a master.cf user= attribute
// ("name" or "name:group"), as pipe and spawn take it: it must exist and
// must be neither root, nor group 0, nor the mail system's own account
// (mailOwner), so that a command can never touch the queue.
func ServiceUser(spec, mailOwner string) (Cred, error) {
	name, group, _ := strings.Cut(spec, ":")
	if name == "" {
		return Cred{}, errors.New("user= command-line attribute needs a user name")
	}
	u, err := user.Lookup(name)
	if err != nil {
		return Cred{}, fmt.Errorf("user= command-line attribute: unknown user %s", name)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err := errors.Join(err1, err2); err != nil {
		return Cred{}, fmt.Errorf("user %s: %w", name, err)
	}
	if group != "" {
		g, err := user.LookupGroup(group)
		if err != nil {
			return Cred{}, fmt.Errorf("user= command-line attribute: unknown group %s", group)
		}
		if gid, err = strconv.ParseUint(g.Gid, 10, 32); err != nil {
			return Cred{}, fmt.Errorf("group %s: %w", group, err)
		}
	}
	owner := name == mailOwner
	if mo, err := user.Lookup(mailOwner); err == nil && mo.Uid == u.Uid {
		owner = true
	}
	switch {
	case uid == 0:
		return Cred{}, errors.New("user= command-line attribute specifies root privileges")
	case owner:
		return Cred{}, fmt.Errorf("user= command-line attribute specifies mail system owner %s", mailOwner)
	case gid == 0:
		return Cred{}, errors.New("user= command-line attribute specifies privileged group id 0")
	}
	return Cred{UID: uint32(uid), GID: uint32(gid)}, nil
}
