package mailbox

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"

	"github.com/postern-mta/postern/internal/dsn"
)

// MboxParams say how to append to an mbox file (a mailbox or a /file
// destination).
type MboxParams struct {
	Path    string  `json:"path"`
	Locking Locking `json:"locking"`
	// DotlockMayFail goes on without the dot-lock when it cannot be
	// created (a /file in a directory the user may not write).
	DotlockMayFail bool `json:"dotlock_may_fail,omitempty"`
	// Create makes the file (mode 0600) when it does not exist.
	Create bool `json:"create,omitempty"`
	// StrictOwner refuses a file that the user the op runs as does not
	// own (strict_mailbox_ownership).
	StrictOwner bool `json:"strict_owner,omitempty"`
	// File is a /file destination: a device such as /dev/null is
	// accepted (without locks), an executable file is refused.
	File bool `json:"file,omitempty"`
	// SizeLimit is the largest the file may grow to; 0 means no limit.
	SizeLimit int64 `json:"size_limit,omitempty"`
}

// MboxData is what the mbox op returns: where the message starts (for
// biff notifications).
type MboxData struct {
	Offset int64 `json:"offset"`
}

// appendMbox appends content to the file p names. It runs in a helper with
// the rights of the mailbox's user.
func appendMbox(p *MboxParams, content io.Reader) (MboxData, *dsn.Status) {
	if p.Locking.Dotlock {
		release, err := p.Locking.DotlockFile(p.Path)
		switch {
		case err == nil:
			defer release()
		case !p.DotlockMayFail:
			return MboxData{}, fsStatus(err, "5.2.0", err.Error())
		}
	}
	flags := os.O_WRONLY | os.O_APPEND | syscall.O_NONBLOCK
	if !p.File {
		flags |= syscall.O_NOFOLLOW
	}
	if p.Create {
		flags |= os.O_CREATE
	}
	f, err := os.OpenFile(p.Path, flags, 0o600)
	if err != nil {
		return MboxData{}, fsStatus(err, "5.2.0", "cannot open file: "+errText(err))
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return MboxData{}, fsStatus(err, "5.2.0", "cannot stat file: "+errText(err))
	}
	if !fi.Mode().IsRegular() {
		if !p.File || fi.IsDir() {
			return MboxData{}, statusf("5.2.0", "destination %s is not a regular file", p.Path)
		}
		// A device or a pipe: no locks, no size, nothing to truncate.
		if _, err := Copy(f, content, CopyOptions{}); err != nil {
			return MboxData{}, fsStatus(err, "5.2.0", "error writing message: "+errText(err))
		}
		return MboxData{}, nil
	}
	st, _ := fi.Sys().(*syscall.Stat_t)
	switch {
	case st != nil && st.Nlink > 1:
		return MboxData{}, statusf("5.2.0", "destination %s has %d hard links", p.Path, st.Nlink)
	case p.StrictOwner && st != nil && int(st.Uid) != os.Geteuid():
		return MboxData{}, statusf("4.2.0", "destination %s is not owned by recipient", p.Path)
	case p.File && fi.Mode()&0o111 != 0:
		return MboxData{}, statusf("5.2.0", "destination %s is executable", p.Path)
	}
	if err := p.Locking.lockFile(f); err != nil {
		return MboxData{}, fsStatus(err, "5.2.0", err.Error())
	}
	defer p.Locking.unlockFile(f)
	end, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return MboxData{}, fsStatus(err, "4.3.0", "cannot seek: "+errText(err))
	}
	if err := writeAll(f, content, end, p.SizeLimit); err != nil {
		if terr := f.Truncate(end); terr != nil {
			err = fmt.Errorf("%w; cannot truncate to the original size: %v", err, errText(terr))
		}
		return MboxData{}, fsStatus(err, "5.2.0", "error writing message: "+errText(err))
	}
	return MboxData{Offset: end}, nil
}

// writeAll copies content to f, which is at offset, refusing to grow it
// past limit (0: no limit), and makes it durable.
func writeAll(f *os.File, content io.Reader, offset, limit int64) error {
	bw := bufio.NewWriterSize(&limitWriter{w: f, left: limit - offset, limited: limit > 0}, 64<<10)
	if _, err := io.Copy(bw, content); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	return f.Sync()
}

// limitWriter fails with EFBIG, as a file size limit would, rather than
// write past its limit.
type limitWriter struct {
	w       io.Writer
	left    int64
	limited bool
}

func (l *limitWriter) Write(p []byte) (int, error) {
	if l.limited && int64(len(p)) > l.left {
		return 0, syscall.EFBIG
	}
	n, err := l.w.Write(p)
	l.left -= int64(n)
	return n, err
}

// fsStatus gives the status of a file system failure: a full file system
// or a busy lock is temporary, a full mailbox is 5.2.2, anything else def.
func fsStatus(err error, def, text string) *dsn.Status {
	enh := def
	switch {
	case errors.Is(err, syscall.ENOSPC):
		enh = "4.3.0"
	case errors.Is(err, syscall.EAGAIN), errors.Is(err, syscall.ESTALE), errors.Is(err, syscall.EINTR):
		enh = "4.2.0"
	case errors.Is(err, syscall.EDQUOT), errors.Is(err, syscall.EFBIG):
		enh = "5.2.2"
	}
	return statusf(enh, "%s", text)
}

// FileStatus gives the delivery status of an error from this package's
// functions that run in the agent (PrepareMbox, Locking.DotlockFile).
func FileStatus(err error) *dsn.Status {
	var st *dsn.Status
	if errors.As(err, &st) {
		return st
	}
	return fsStatus(err, "5.2.0", err.Error())
}

func statusf(enhanced, format string, args ...any) *dsn.Status {
	code := 550
	if enhanced[0] == '4' {
		code = 450
	}
	return dsn.New(code, enhanced, format, args...)
}

// PrepareMbox creates the mbox file path for uid and gid when it does not
// exist yet, the way a root delivery agent creates a mailbox in a spool
// directory its users cannot write. An existing file is left alone; the
// ownership check happens when the user's helper opens it.
func PrepareMbox(path string, uid, gid int) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o600)
	if errors.Is(err, os.ErrExist) {
		return nil
	}
	if err != nil {
		return fsStatus(err, "5.2.0", "cannot create file: "+errText(err))
	}
	defer f.Close()
	if err := f.Chown(uid, gid); err != nil {
		os.Remove(path)
		return fsStatus(err, "4.3.0", "cannot change the owner of the new mailbox: "+errText(err))
	}
	return nil
}
