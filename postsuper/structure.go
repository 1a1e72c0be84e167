package postsuper

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/postern-mta/postern/queue"
)

// tempPrefix starts the names of queue files being written (queue.Writer).
const tempPrefix = "tmp."

// maxLevels is the deepest hashing there is (hash_queue_depth ≤ 5).
const maxLevels = 5

// structure walks the queue tree. With fix (-s) it puts every file where
// hash_queue_names and hash_queue_depth want it, removes subdirectories
// no longer needed and objects that are neither files nor the hashed
// subdirectories, and moves files whose names are not queue IDs from the
// message queues to corrupt/. With strict (-S) it also renames messages
// whose ID does not match their file's inode number (after restoring a
// queue from a backup or another machine), with their logs. With purge
// (-p) it removes temporary files older than TempAge, which a crash left
// behind.
func (s *Super) structure(queues []string, fix, strict, purge bool) {
	for _, q := range queues {
		if q == queue.Corrupt {
			continue
		}
		s.structDir(q, s.l.Dir(q), 0, fix, strict, purge)
	}
}

// depth is how many levels of subdirectories queue q wants.
func (s *Super) depth(q string) int {
	sample := queue.NewID(time.Unix(0, 0), 0)
	rel, err := filepath.Rel(s.l.Dir(q), s.l.Path(q, sample))
	if err != nil {
		return 0
	}
	return strings.Count(rel, string(filepath.Separator))
}

func (s *Super) structDir(q, dir string, level int, fix, strict, purge bool) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			s.warnf("scan %s: %v", dir, err)
		}
		return
	}
	message := slices.Contains(queue.MessageQueues, q)
	for _, e := range ents {
		name := e.Name()
		path := filepath.Join(dir, name)
		switch {
		case e.IsDir():
			// maildrop is written by users (through postdrop): it is
			// never entered, so that a planted directory cannot lead
			// postsuper elsewhere.
			if q != queue.Maildrop && len(name) == 1 && isHex(name[0]) && level < maxLevels {
				s.structDir(q, path, level+1, fix, strict, purge)
				if fix && level+1 > s.depth(q) {
					s.rmdir(path, false)
				}
				continue
			}
			if fix {
				s.rmdir(path, true)
			}
		case !e.Type().IsRegular():
			if fix || purge {
				s.remove(path)
			}
		case strings.HasPrefix(name, tempPrefix):
			if purge {
				if fi, err := e.Info(); err == nil && s.now().Sub(fi.ModTime()) > s.TempAge {
					s.remove(path)
				}
			}
		case !queue.ValidID(name):
			if fix {
				if message {
					s.setAside(q, path, name)
				} else {
					s.warnf("bogus file name: %s", path)
				}
			}
		default:
			id := name
			if strict && message {
				var renamed bool
				if id, path, renamed = s.fixInode(q, id, path); renamed {
					continue // renamed into its right place
				}
			}
			if fix {
				if want := s.l.Path(q, id); want != path {
					s.rename(path, want)
				}
			}
		}
	}
}

func isHex(c byte) bool { return '0' <= c && c <= '9' || 'A' <= c && c <= 'F' }

// setAside moves a file whose name is not a queue ID to corrupt/.
func (s *Super) setAside(q, path, name string) {
	dst := filepath.Join(s.l.Dir(queue.Corrupt), name)
	err := renameNoReplace(path, dst)
	if errors.Is(err, fs.ErrExist) {
		dst = filepath.Join(s.l.Dir(queue.Corrupt), name+"."+q)
		err = renameNoReplace(path, dst)
	}
	if err != nil {
		s.warnf("bogus file name: %s: %v", path, err)
		return
	}
	s.warnf("bogus file name: %s: moved to %s", path, dst)
}

// fixInode gives message id the ID its file's inode calls for: its logs
// are renamed first and the message last, so that a run interrupted in
// between is completed by the next one.
func (s *Super) fixInode(q, id, path string) (string, string, bool) {
	fi, err := os.Lstat(path)
	if err != nil {
		return id, path, false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	t, valid := queue.IDTime(id)
	if !ok || !valid {
		return id, path, false
	}
	want := queue.NewID(t, st.Ino)
	if want == id {
		return id, path, false
	}
	for _, lq := range logQueues {
		old := s.l.Path(lq, id)
		if _, err := os.Lstat(old); err == nil {
			s.rename(old, s.l.Path(lq, want))
		}
	}
	dst := s.l.Path(q, want)
	if !s.rename(path, dst) {
		return id, path, false
	}
	s.inodeFixed++
	return want, dst, true
}

// rename moves a file into place, making its directory when needed and
// never replacing a file.
func (s *Super) rename(from, to string) bool {
	err := renameNoReplace(from, to)
	if errors.Is(err, fs.ErrNotExist) {
		if os.MkdirAll(filepath.Dir(to), 0o700) == nil {
			err = renameNoReplace(from, to)
		}
	}
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			s.warnf("rename file %s as %s: %v", from, to, err)
		}
		return false
	}
	s.verbosef("renamed file %s as %s", from, to)
	return true
}

func (s *Super) remove(path string) {
	if err := os.Remove(path); err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			s.warnf("remove file %s: %v", path, err)
		}
		return
	}
	s.verbosef("removed file %s", path)
}

// rmdir removes a directory if it is empty; loud says whether one that
// is not deserves a warning.
func (s *Super) rmdir(path string, loud bool) {
	err := syscall.Rmdir(path)
	switch {
	case err == nil:
		s.verbosef("removed directory %s", path)
	case errors.Is(err, fs.ErrNotExist):
	case errors.Is(err, syscall.ENOTEMPTY) || errors.Is(err, syscall.EEXIST):
		if loud {
			s.warnf("remove subdirectory %s: %v", path, err)
		}
	default:
		s.warnf("remove subdirectory %s: %v", path, err)
	}
}

// renameNoReplace renames from to to unless to exists (fs.ErrExist).
func renameNoReplace(from, to string) error {
	err := unix.Renameat2(unix.AT_FDCWD, from, unix.AT_FDCWD, to, unix.RENAME_NOREPLACE)
	if err == unix.EINVAL || err == unix.ENOSYS {
		if err = os.Link(from, to); err == nil {
			return os.Remove(from)
		}
		return err
	}
	if err != nil {
		return &os.LinkError{Op: "rename", Old: from, New: to, Err: err}
	}
	return nil
}
