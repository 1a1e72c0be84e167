package mailbox

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/postern-mta/postern/internal/dsn"
)

// MaildirParams say where to deliver a Maildir message.
type MaildirParams struct {
	Dir       string `json:"dir"`      // the Maildir: tmp/, new/ and cur/ are below it
	Hostname  string `json:"hostname"` // the system's host name, for file names
	SizeLimit int64  `json:"size_limit,omitempty"`
}

// MaildirData is what the maildir op returns: the file delivered.
type MaildirData struct {
	Path string `json:"path"`
}

// tmpCount tells apart the temporary files one helper makes within a
// second.
var tmpCount atomic.Uint64

// MaildirName is the name of a delivered file, as Postfix makes it:
// SECONDS.VdevIinoMusec.HOST with the device and inode in hexadecimal.
func MaildirName(t time.Time, dev, ino uint64, host string) string {
	return fmt.Sprintf("%d.V%xI%xM%d.%s", t.Unix(), dev, ino, t.Nanosecond()/1000, host)
}

// SafeHostname makes a host name usable in a Maildir file name: '/' and
// ':' are written as \057 and \072.
func SafeHostname(h string) string {
	return strings.NewReplacer("/", `\057`, ":", `\072`).Replace(h)
}

// writeMaildir delivers content into the Maildir p names: it writes
// tmp/NAME, makes it durable, renames it into new/ and makes the rename
// durable. Missing directories are created with mode 0700. It runs in a
// helper with the rights of the Maildir's user; warnings go to warn.
func writeMaildir(p *MaildirParams, content io.Reader, warn func(string)) (MaildirData, *dsn.Status) {
	dir := strings.TrimSuffix(p.Dir, "/")
	host := SafeHostname(p.Hostname)
	now := time.Now()
	tmpDir := filepath.Join(dir, "tmp")
	tmp := filepath.Join(tmpDir, fmt.Sprintf("%d.P%dQ%d.%s", now.Unix(), os.Getpid(), tmpCount.Add(1), host))
	fail := func(err error, text string) (MaildirData, *dsn.Status) {
		if errors.Is(err, syscall.EACCES) {
			uid, gid := os.Geteuid(), os.Getegid()
			warn(fmt.Sprintf("maildir access problem for UID/GID=%d/%d: %s", uid, gid, text))
			warn("perhaps you need to create the maildirs in advance")
		}
		return MaildirData{}, fsStatus(err, "5.2.0", text)
	}
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o600)
	if errors.Is(err, os.ErrNotExist) {
		if err = os.MkdirAll(tmpDir, 0o700); err == nil {
			f, err = os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o600)
		}
	}
	if err != nil {
		return fail(err, fmt.Sprintf("create %s: %s", tmp, errText(err)))
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		os.Remove(tmp)
		return fail(err, fmt.Sprintf("stat %s: %s", tmp, errText(err)))
	}
	var dev, ino uint64
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		dev, ino = uint64(st.Dev), st.Ino
	}
	newDir := filepath.Join(dir, "new")
	final := filepath.Join(newDir, MaildirName(now, dev, ino, host))
	err = writeAll(f, content, 0, p.SizeLimit)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return fail(err, "error writing message: "+errText(err))
	}
	err = os.Rename(tmp, final)
	if errors.Is(err, os.ErrNotExist) {
		os.MkdirAll(filepath.Join(dir, "cur"), 0o700) //nolint:errcheck // the rename says what failed
		if err = os.MkdirAll(newDir, 0o700); err == nil {
			err = os.Rename(tmp, final)
		}
	}
	if err != nil {
		os.Remove(tmp)
		return fail(err, fmt.Sprintf("rename to %s: %s", final, errText(err)))
	}
	if err := syncDir(newDir); err != nil {
		return fail(err, fmt.Sprintf("sync %s: %s", newDir, errText(err)))
	}
	return MaildirData{Path: final}, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
