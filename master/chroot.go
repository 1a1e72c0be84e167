package master

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// The chroot jail. A chrooted daemon confines itself to the queue
// directory once it has opened its tables (see internal/daemon). Before
// master starts such daemons, at start and at every reload, it prepares
// the jail:
//
//   - $queue_directory/etc/ holds copies of the system files a daemon
//     reads for name resolution, service names and the time zone, as
//     Postfix's Debian scripts keep them (owner root, mode 0644; etc/
//     0755). A copy whose original is gone is removed.
//   - $queue_directory/<queue_directory without its leading slash> is a
//     symbolic link to the jail's root, so that inside the jail the queue
//     directory's absolute path, which the daemon computed its paths from,
//     still names the queue: for /var/spool/postern,
//     var/spool/postern -> ../.. (var/ and var/spool/ are root's, 0755).
//
// Master runs as root here: it never writes through a symbolic link or
// into a directory another user owns, and refuses to start when such a
// thing stands where the jail needs its own.

// jailFiles are the files of /etc copied into the jail.
var jailFiles = []string{"localtime", "hosts", "resolv.conf", "nsswitch.conf", "services", "host.conf"}

// maxJailFile bounds a copied file (an /etc/hosts of blocked names runs
// to a few megabytes). A variable for tests.
var maxJailFile = 32 << 20

// jail prepares one chroot jail.
type jail struct {
	root string // the queue directory
	src  string // where the originals are: /etc
	// uid owns what master makes (root); -1 leaves ownership alone and
	// does not check it (tests as an ordinary user).
	uid, gid int
}

// prepareJail prepares the queue directory for the chrooted services of
// cfg; nothing when none is chrooted.
func prepareJail(cfg *Config) error {
	for _, s := range cfg.services {
		if s.chroot {
			j := &jail{root: cfg.QueueDir, src: "/etc", uid: 0, gid: 0}
			if err := j.prepare(); err != nil {
				return fmt.Errorf("prepare the chroot jail %s: %w", cfg.QueueDir, err)
			}
			return nil
		}
	}
	return nil
}

func (j *jail) prepare() error {
	if !filepath.IsAbs(j.root) {
		return fmt.Errorf("queue_directory %s is not an absolute path", j.root)
	}
	etc := filepath.Join(j.root, "etc")
	if err := j.ensureDir(etc); err != nil {
		return err
	}
	for _, name := range jailFiles {
		if err := j.copyFile(filepath.Join(j.src, name), filepath.Join(etc, name)); err != nil {
			return err
		}
	}
	return j.link()
}

// ensureDir makes path a directory of the jail's owner with mode 0755.
func (j *jail) ensureDir(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		if err := os.Mkdir(path, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("create %s: %w", path, err)
		}
		fi, err = os.Lstat(path)
	}
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s exists and is not a directory: move it away or choose another queue_directory", path)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && j.uid >= 0 && int(st.Uid) != j.uid {
		return fmt.Errorf("%s belongs to uid %d, not root: move it away or choose another queue_directory", path, st.Uid)
	}
	if fi.Mode()&(fs.ModePerm|fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky) != 0o755 {
		if err := os.Chmod(path, 0o755); err != nil {
			return fmt.Errorf("set mode of %s: %w", path, err)
		}
	}
	return nil
}

// copyFile makes dst a copy of src (mode 0644), replacing an outdated
// copy atomically so a running daemon never reads half a file; it removes
// dst when src does not exist.
func (j *jail) copyFile(src, dst string) error {
	data, err := readLimited(src)
	if errors.Is(err, fs.ErrNotExist) {
		if fi, err := os.Lstat(dst); err == nil && !fi.IsDir() {
			if err := os.Remove(dst); err != nil {
				return fmt.Errorf("remove %s (%s is gone): %w", dst, src, err)
			}
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("copy %s into the jail: %w", src, err)
	}
	if j.upToDate(dst, data) {
		return nil
	}
	tmp := dst + ".new"
	if err := os.Remove(tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove %s: %w", tmp, err)
	}
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o644)
	if err != nil {
		return fmt.Errorf("copy %s into the jail: %w", src, err)
	}
	_, err = f.Write(data)
	if err == nil && j.uid >= 0 {
		err = f.Chown(j.uid, j.gid)
	}
	if err == nil {
		err = f.Chmod(0o644) // whatever the umask
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, dst)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("copy %s to %s: %w", src, dst, err)
	}
	return nil
}

// upToDate reports whether dst is a regular file of mode 0644, owned as
// it should be, holding data.
func (j *jail) upToDate(dst string, data []byte) bool {
	fi, err := os.Lstat(dst)
	if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o644 || fi.Size() != int64(len(data)) {
		return false
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && j.uid >= 0 && (int(st.Uid) != j.uid || int(st.Gid) != j.gid) {
		return false
	}
	old, err := readLimited(dst)
	return err == nil && bytes.Equal(old, data)
}

func readLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, int64(maxJailFile)+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxJailFile {
		return nil, fmt.Errorf("%s is larger than %d MB", path, maxJailFile>>20)
	}
	return data, nil
}

// link makes the queue directory's path inside the jail lead to the
// jail's root.
func (j *jail) link() error {
	rel := strings.TrimPrefix(filepath.Clean(j.root), "/")
	if rel == "" {
		return nil
	}
	parts := strings.Split(rel, "/")
	dir := j.root
	for _, p := range parts[:len(parts)-1] {
		dir = filepath.Join(dir, p)
		if err := j.ensureDir(dir); err != nil {
			return err
		}
	}
	link := filepath.Join(dir, parts[len(parts)-1])
	target := "."
	if len(parts) > 1 {
		target = strings.Repeat("../", len(parts)-2) + ".."
	}
	fi, err := os.Lstat(link)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.Symlink(target, link); err != nil {
			return fmt.Errorf("create the link to the jail's root: %w", err)
		}
		return nil
	case err != nil:
		return err
	case fi.Mode()&fs.ModeSymlink != 0:
		got, err := os.Readlink(link)
		if err != nil {
			return err
		}
		if got != target {
			return fmt.Errorf("%s links to %s, not to %s (the jail's root): remove it", link, got, target)
		}
		return nil
	default:
		return fmt.Errorf("%s exists and is not a symbolic link to %s (the jail's root), which chrooted daemons need: move it away or choose another queue_directory", link, target)
	}
}
