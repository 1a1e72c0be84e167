package local

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/user"
	"strconv"
	"strings"
	"sync"
	"time"
)

// User is a local account.
type User struct {
	Name  string
	UID   uint32
	GID   uint32
	Home  string
	Shell string
}

// Users looks up accounts. Lookup returns nil, nil for a name that does
// not exist; an error is a failure to look (temporary).
type Users interface {
	Lookup(name string) (*User, error)
	LookupUID(uid uint32) (*User, error)
}

// systemUsers reads /etc/passwd, which also gives the login shell, and
// asks the C library (NSS) for names the file does not have. The file is
// read again when it changes, checked at most once a second.
type systemUsers struct {
	path string

	mu      sync.Mutex
	checked time.Time
	mtime   time.Time
	size    int64
	byName  map[string]*User
	byUID   map[uint32]*User
}

// SystemUsers returns the accounts of this machine.
func SystemUsers() Users { return &systemUsers{path: "/etc/passwd"} }

func (s *systemUsers) Lookup(name string) (*User, error) {
	if name == "" {
		return nil, nil
	}
	if u := s.table().byName[name]; u != nil {
		return u, nil
	}
	gu, err := user.Lookup(name)
	var unknown user.UnknownUserError
	if errors.As(err, &unknown) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("look up user %s: %w", name, err)
	}
	return fromGoUser(gu)
}

func (s *systemUsers) LookupUID(uid uint32) (*User, error) {
	if u := s.table().byUID[uid]; u != nil {
		return u, nil
	}
	gu, err := user.LookupId(strconv.FormatUint(uint64(uid), 10))
	var unknown user.UnknownUserIdError
	if errors.As(err, &unknown) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("look up user ID %d: %w", uid, err)
	}
	return fromGoUser(gu)
}

func fromGoUser(gu *user.User) (*User, error) {
	uid, err1 := strconv.ParseUint(gu.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(gu.Gid, 10, 32)
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("user %s has a non-numeric ID %s/%s", gu.Username, gu.Uid, gu.Gid)
	}
	return &User{Name: gu.Username, UID: uint32(uid), GID: uint32(gid), Home: gu.HomeDir}, nil
}

// passwdTable is one reading of the passwd file.
type passwdTable struct {
	byName map[string]*User
	byUID  map[uint32]*User
}

// table returns the passwd file's entries, reading it again when it
// changed.
func (s *systemUsers) table() passwdTable {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	if s.byName != nil && now.Sub(s.checked) < time.Second {
		return passwdTable{s.byName, s.byUID}
	}
	s.checked = now
	fi, err := os.Stat(s.path)
	if err != nil {
		return passwdTable{s.byName, s.byUID}
	}
	if s.byName != nil && fi.ModTime().Equal(s.mtime) && fi.Size() == s.size {
		return passwdTable{s.byName, s.byUID}
	}
	byName, byUID, err := readPasswd(s.path)
	if err != nil {
		return passwdTable{s.byName, s.byUID}
	}
	s.byName, s.byUID, s.mtime, s.size = byName, byUID, fi.ModTime(), fi.Size()
	return passwdTable{byName, byUID}
}

// maxPasswd bounds the passwd file read into memory.
const maxPasswd = 64 << 20

func readPasswd(path string) (map[string]*User, map[uint32]*User, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	byName, byUID := map[string]*User{}, map[uint32]*User{}
	sc := bufio.NewScanner(&limitedReader{f: f, left: maxPasswd})
	sc.Buffer(make([]byte, 4096), 64<<10)
	for sc.Scan() {
		u := parsePasswdLine(sc.Text())
		if u == nil {
			continue
		}
		if _, dup := byName[u.Name]; !dup {
			byName[u.Name] = u
		}
		if _, dup := byUID[u.UID]; !dup {
			byUID[u.UID] = u
		}
	}
	return byName, byUID, sc.Err()
}

// parsePasswdLine reads "name:x:uid:gid:gecos:home:shell"; nil for a line
// that is not one (comments, NIS "+" entries, garbage).
func parsePasswdLine(line string) *User {
	f := strings.Split(line, ":")
	if len(f) != 7 || f[0] == "" || f[0][0] == '+' || f[0][0] == '-' || f[0][0] == '#' {
		return nil
	}
	uid, err1 := strconv.ParseUint(f[2], 10, 32)
	gid, err2 := strconv.ParseUint(f[3], 10, 32)
	if err1 != nil || err2 != nil {
		return nil
	}
	return &User{Name: f[0], UID: uint32(uid), GID: uint32(gid), Home: f[5], Shell: f[6]}
}

type limitedReader struct {
	f    *os.File
	left int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.left <= 0 {
		return 0, errors.New("passwd file too large")
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.f.Read(p)
	l.left -= int64(n)
	return n, err
}
