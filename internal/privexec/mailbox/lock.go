package mailbox

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"time"
)

// Locking says how an mbox file is locked for exclusive access
// (mailbox_delivery_lock, virtual_mailbox_lock) and how hard to try
// (deliver_lock_attempts, deliver_lock_delay, stale_lock_time).
type Locking struct {
	Fcntl   bool `json:"fcntl,omitempty"`   // a POSIX record lock on the whole file
	Flock   bool `json:"flock,omitempty"`   // a BSD flock
	Dotlock bool `json:"dotlock,omitempty"` // the file FILE.lock
	// Attempts and Delay bound the waiting for a lock held by another
	// process.
	Attempts int           `json:"attempts,omitempty"`
	Delay    time.Duration `json:"delay,omitempty"`
	// StaleTime is the age after which a dot-lock is taken to be left
	// behind by a crash and removed.
	StaleTime time.Duration `json:"stale_time,omitempty"`
}

// LockTypes are the lock types Postern knows, for postconf -l.
var LockTypes = []string{"flock", "fcntl", "dotlock"}

// ParseLocking reads a mailbox_delivery_lock value ("fcntl, dotlock").
func ParseLocking(items []string) (Locking, error) {
	var l Locking
	for _, it := range items {
		switch strings.ToLower(it) {
		case "fcntl":
			l.Fcntl = true
		case "flock":
			l.Flock = true
		case "dotlock":
			l.Dotlock = true
		default:
			return Locking{}, fmt.Errorf("unknown mailbox lock type %q (use one or more of %s)", it, strings.Join(LockTypes, ", "))
		}
	}
	return l, nil
}

func (l *Locking) attempts() int { return max(l.Attempts, 1) }

func (l *Locking) delay() time.Duration {
	if l.Delay <= 0 {
		return time.Second
	}
	return l.Delay
}

// lockFile takes the kernel locks l asks for on f, trying again while
// another process holds them.
func (l *Locking) lockFile(f *os.File) error {
	fd := int(f.Fd())
	for i := 0; ; i++ {
		err := l.tryLock(fd)
		if err == nil {
			return nil
		}
		if errors.Is(err, syscall.EACCES) {
			err = syscall.EAGAIN // fcntl's "held by another process" on some systems
		}
		if !errors.Is(err, syscall.EAGAIN) || i+1 >= l.attempts() {
			return &lockError{err: err}
		}
		time.Sleep(l.delay())
	}
}

func (l *Locking) tryLock(fd int) error {
	if l.Fcntl {
		lk := syscall.Flock_t{Type: syscall.F_WRLCK, Whence: 0}
		if err := syscall.FcntlFlock(uintptr(fd), syscall.F_SETLK, &lk); err != nil {
			return err
		}
	}
	if l.Flock {
		if err := syscall.Flock(fd, syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			if l.Fcntl {
				unlockFcntl(fd)
			}
			return err
		}
	}
	return nil
}

func unlockFcntl(fd int) {
	lk := syscall.Flock_t{Type: syscall.F_UNLCK, Whence: 0}
	syscall.FcntlFlock(uintptr(fd), syscall.F_SETLK, &lk) //nolint:errcheck // closing the file releases it anyway
}

// unlockFile releases the kernel locks (closing the file would too).
func (l *Locking) unlockFile(f *os.File) {
	fd := int(f.Fd())
	if l.Flock {
		syscall.Flock(fd, syscall.LOCK_UN) //nolint:errcheck // closing the file releases it anyway
	}
	if l.Fcntl {
		unlockFcntl(fd)
	}
}

// lockError is a lock that could not be had; it says why in Postfix's
// words and is temporary when the lock is merely busy.
type lockError struct{ err error }

func (e *lockError) Error() string {
	return "unable to lock for exclusive access: " + errText(e.err)
}

func (e *lockError) Unwrap() error { return e.err }

// DotlockFile creates path.lock, the lock file of path, trying again while it
// exists and removing it when it is older than StaleTime. The returned
// function removes it.
func (l *Locking) DotlockFile(path string) (func(), error) {
	lock := path + ".lock"
	for i := 0; ; i++ {
		f, err := os.OpenFile(lock, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0)
		if err == nil {
			f.Close()
			return func() { os.Remove(lock) }, nil
		}
		if !errors.Is(err, os.ErrExist) {
			return nil, &dotlockError{path: lock, err: err}
		}
		if l.StaleTime > 0 {
			if fi, serr := os.Lstat(lock); serr == nil && time.Since(fi.ModTime()) > l.StaleTime {
				os.Remove(lock)
				continue
			}
		}
		if i+1 >= l.attempts() {
			return nil, &dotlockError{path: lock, err: syscall.EAGAIN}
		}
		time.Sleep(l.delay())
	}
}

type dotlockError struct {
	path string
	err  error
}

func (e *dotlockError) Error() string {
	return "unable to create lock file " + e.path + ": " + errText(e.err)
}

func (e *dotlockError) Unwrap() error { return e.err }

// errText is the system's text for an error, without the Go wrapping that
// names the operation and file again.
func errText(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	var se *os.SyscallError
	if errors.As(err, &se) {
		err = se.Err
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		// As strerror(3) words it, and Postfix's reasons show it
		// ("File too large"): administrators grep for these.
		s := errno.Error()
		if s != "" {
			s = strings.ToUpper(s[:1]) + s[1:]
		}
		return s
	}
	return err.Error()
}
