package queue

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// ErrInvalidID is wrapped by errors about a malformed queue ID.
var ErrInvalidID = errors.New("invalid queue ID")

// Layout is a queue directory tree.
type Layout struct {
	Root   string          // the queue directory
	hashed map[string]bool // queues hashed into subdirectories
	depth  int             // levels of subdirectories
	// plainRename: the file system refused renameat2's RENAME_NOREPLACE
	// once; Move renames as os.Rename does from then on.
	plainRename atomic.Bool
}

// NewLayout describes the tree at root. The queues named in hashQueues
// (hash_queue_names) are spread over hashDepth (hash_queue_depth, 1 to 5)
// levels of one-hex-digit subdirectories.
func NewLayout(root string, hashQueues []string, hashDepth int) *Layout {
	l := &Layout{Root: root, hashed: make(map[string]bool), depth: min(max(hashDepth, 1), maxHashDepth)}
	for _, q := range hashQueues {
		l.hashed[q] = true
	}
	return l
}

// Dir is the directory of a queue.
func (l *Layout) Dir(queue string) string { return filepath.Join(l.Root, queue) }

// Path is where the file of message id lives in queue, in its hashed
// subdirectory when the queue is hashed. id must be valid (ValidID).
func (l *Layout) Path(queue, id string) string {
	if l.hashed[queue] && ValidID(id) {
		return filepath.Join(l.Root, queue, hashDirs(id, l.depth), id)
	}
	return filepath.Join(l.Root, queue, id)
}

// queueDirs are the directories MakeDirs creates, with Postfix's modes.
// Those with group belong to setgid_group: postdrop writes maildrop and
// postdrop/postqueue reach the sockets in public.
var queueDirs = []struct {
	name  string
	mode  fs.FileMode
	group bool
}{
	{Maildrop, 0o730, true},
	{Incoming, 0o700, false},
	{Active, 0o700, false},
	{Deferred, 0o700, false},
	{Hold, 0o700, false},
	{Corrupt, 0o700, false},
	{Bounce, 0o700, false},
	{Defer, 0o700, false},
	{Trace, 0o700, false},
	{Saved, 0o700, false},
	{"flush", 0o700, false},
	{"pid", 0o700, false},
	{"private", 0o700, false},
	{"public", 0o710, true},
}

// MakeDirs creates every queue directory, and the hashed subdirectories,
// owned by owner (and group, for maildrop and public) with Postfix's
// modes; an owner or group of -1 leaves ownership alone (development
// mode). It is idempotent and repairs wrong modes and owners.
func (l *Layout) MakeDirs(owner, group int) error {
	if err := os.MkdirAll(l.Root, 0o755); err != nil {
		return fmt.Errorf("create queue directory: %w", err)
	}
	for _, d := range queueDirs {
		gid := -1
		if d.group {
			gid = group
		}
		if err := ensureDir(l.Dir(d.name), d.mode, owner, gid); err != nil {
			return err
		}
		if l.hashed[d.name] {
			if err := ensureHashDirs(l.Dir(d.name), l.depth, d.mode, owner, gid); err != nil {
				return err
			}
		}
	}
	return nil
}

const hexDigits = "0123456789ABCDEF"

func ensureHashDirs(dir string, depth int, mode fs.FileMode, uid, gid int) error {
	if depth == 0 {
		return nil
	}
	for _, c := range hexDigits {
		sub := filepath.Join(dir, string(c))
		if err := ensureDir(sub, mode, uid, gid); err != nil {
			return err
		}
		if err := ensureHashDirs(sub, depth-1, mode, uid, gid); err != nil {
			return err
		}
	}
	return nil
}

// ensureDir makes path a directory with exactly mode, owned by uid and gid
// where those are not -1. A symbolic link is refused, not followed.
func ensureDir(path string, mode fs.FileMode, uid, gid int) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		if err = os.Mkdir(path, mode); err == nil || errors.Is(err, fs.ErrExist) {
			fi, err = os.Lstat(path)
		}
	}
	if err != nil {
		return fmt.Errorf("create queue directory: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("queue directory %s: not a directory", path)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && (uid >= 0 && int(st.Uid) != uid || gid >= 0 && int(st.Gid) != gid) {
		if err := os.Lchown(path, uid, gid); err != nil {
			return fmt.Errorf("set owner of queue directory: %w", err)
		}
	}
	if fi.Mode()&(fs.ModePerm|fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky) != mode {
		if err := os.Chmod(path, mode); err != nil {
			return fmt.Errorf("set mode of queue directory: %w", err)
		}
	}
	return nil
}

// Find looks for message id in the given queues, in order (every
// MessageQueues when none is given), and returns the queue and path where
// it is. An absent message gives an error wrapping fs.ErrNotExist.
func (l *Layout) Find(id string, queues ...string) (queue, path string, err error) {
	if !ValidID(id) {
		return "", "", fmt.Errorf("find %q: %w", id, ErrInvalidID)
	}
	if len(queues) == 0 {
		queues = MessageQueues
	}
	for _, q := range queues {
		p := l.Path(q, id)
		_, err := os.Lstat(p)
		if err == nil {
			return q, p, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return "", "", fmt.Errorf("find queue file %s: %w", id, err)
		}
	}
	return "", "", fmt.Errorf("find queue file %s: %w", id, fs.ErrNotExist)
}

// Move renames message id from one queue to another. It does not fsync:
// after a crash the file is in one queue or the other, and both are
// scanned. It does not replace a file of the same ID in the other queue
// (that would lose a message; two live files never share an ID), but
// fails with an error wrapping fs.ErrExist, where the file system allows
// (renameat2's RENAME_NOREPLACE, one system call; elsewhere os.Rename,
// which asks first whether the target is a directory).
func (l *Layout) Move(id, from, to string) error {
	if !ValidID(id) {
		return fmt.Errorf("move %q: %w", id, ErrInvalidID)
	}
	src, dst := l.Path(from, id), l.Path(to, id)
	err := l.rename(src, dst)
	if errors.Is(err, fs.ErrNotExist) && l.hashed[to] {
		// The hashed subdirectory may be missing (hash_queue_depth
		// changed since MakeDirs); make it and try again.
		if os.MkdirAll(filepath.Dir(dst), 0o700) == nil {
			err = l.rename(src, dst)
		}
	}
	if err != nil {
		return fmt.Errorf("move queue file %s from %s to %s: %w", id, from, to, err)
	}
	return nil
}

// rename renames src to dst with renameat2(RENAME_NOREPLACE). A file
// system without it (EINVAL; ENOSYS from an old kernel) is remembered and
// renamed in the old way from then on. EPERM may be a sandbox that does
// not know renameat2, or a real refusal: os.Rename decides, and is
// remembered only when it works.
func (l *Layout) rename(src, dst string) error {
	if !l.plainRename.Load() {
		err := unix.Renameat2(unix.AT_FDCWD, src, unix.AT_FDCWD, dst, unix.RENAME_NOREPLACE)
		switch err {
		case nil:
			return nil
		case unix.EINVAL, unix.ENOSYS:
			l.plainRename.Store(true)
		case unix.EPERM:
			if err := os.Rename(src, dst); err != nil {
				return err
			}
			l.plainRename.Store(true)
			return nil
		default:
			return &os.LinkError{Op: "rename", Old: src, New: dst, Err: err}
		}
	}
	return os.Rename(src, dst)
}

// Remove deletes message id from queue.
func (l *Layout) Remove(queue, id string) error {
	if !ValidID(id) {
		return fmt.Errorf("remove %q: %w", id, ErrInvalidID)
	}
	if err := os.Remove(l.Path(queue, id)); err != nil {
		return fmt.Errorf("remove queue file: %w", err)
	}
	return nil
}

// Walk calls fn for every complete message file in queue, in no
// particular order, looking into hashed subdirectories whatever the
// current hashing settings. Temporary files of writers are skipped. fn may
// move or remove the file it is given; files added or moved during the walk
// may be seen once, twice or not at all, as with any directory scan. An
// error from fn stops the walk and is returned.
func (l *Layout) Walk(queue string, fn func(id, path string) error) error {
	return walkDir(l.Dir(queue), 0, fn)
}

func walkDir(dir string, level int, fn func(id, path string) error) error {
	d, err := openDir(dir)
	if err != nil {
		return fmt.Errorf("scan queue: %w", err)
	}
	defer d.Close()
	for {
		ents, err := d.ReadDir(1024)
		for _, e := range ents {
			name := e.Name()
			switch {
			case e.Type().IsRegular() && ValidID(name):
				if err := fn(name, filepath.Join(dir, name)); err != nil {
					return err
				}
			case e.IsDir() && level < maxHashDepth && len(name) == 1 && isHexDigit(name[0]):
				if err := walkDir(filepath.Join(dir, name), level+1, fn); err != nil {
					return err
				}
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("scan queue directory %s: %w", dir, err)
		}
	}
}

// openDir opens a directory to list it. os.Open would also try to
// register the descriptor with the network poller, which a directory
// refuses, and toggle its blocking mode: four fcntl calls per queue scan
// that os.NewFile, given a plain descriptor, reduces to one.
func openDir(dir string) (*os.File, error) {
	for {
		fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err == nil {
			return os.NewFile(uintptr(fd), dir), nil
		}
		if err != unix.EINTR {
			return nil, &os.PathError{Op: "open", Path: dir, Err: err}
		}
	}
}

func isHexDigit(c byte) bool { return '0' <= c && c <= '9' || 'A' <= c && c <= 'F' }

// SetNextTry records when a deferred message is next due, in its file's
// modification time, as Postfix does: a queue scan learns it from the
// directory listing and a stat, without opening the file.
func (l *Layout) SetNextTry(path string, t time.Time) error {
	if err := os.Chtimes(path, t, t); err != nil {
		return fmt.Errorf("set next try time: %w", err)
	}
	return nil
}

// NextTry is the next try time of a deferred message from its file's
// information (see SetNextTry).
func NextTry(fi os.FileInfo) time.Time { return fi.ModTime() }
