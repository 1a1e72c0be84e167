package queue

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// writeBufSize is how much a Writer holds before its first write: a
// message up to this size is written with one system call.
const writeBufSize = 64 << 10

var writeBufs = sync.Pool{New: func() any { b := make([]byte, 0, writeBufSize); return &b }}

// tempPrefix starts the names of files being written; such a name is never
// a valid ID, so scans skip it. Those a crash leaves behind master removes
// at start (RemoveTemp), and postsuper -p when they are old.
const tempPrefix = "tmp."

var tempSeq atomic.Uint64

// Writer writes one new queue file: SetEnvelope, then Write the content,
// AddRecipient (any time before Commit), and Commit. Errors are sticky:
// once a step failed every later one returns its error, and Commit
// removes the file. Abort removes an uncommitted file; after Commit it
// does nothing, so `defer w.Abort()` is the usual pattern.
type Writer struct {
	l       *Layout
	queue   string
	f       *fdFile
	tmp     string // temporary path; "" for an unnamed file
	name    string // what error messages call the file
	id      string
	created time.Time

	bp         *[]byte // pooled buffer: what is not yet written
	written    int64   // bytes written to the file so far
	head       []byte  // the head, kept once it has been written, for patching
	headLen    int     // the content offset; 0 until SetEnvelope
	flags      uint32
	contentLen int64
	rcpts      []Recipient
	err        error
	done       bool
}

// NewWriter creates a temporary file in queue's directory. Its queue ID,
// from the creation time and the file's inode, is known at once.
func (l *Layout) NewWriter(queue string) (*Writer, error) {
	dir := l.Dir(queue)
	mode := fs.FileMode(0o600)
	if queue == Maildrop {
		// postdrop writes as the submitting user; pickup, running as the
		// mail owner, must read the file. The directory (0730) keeps
		// others out.
		mode = 0o644
	}
	var f *fdFile
	var tmp string
	if f = openUnnamed(dir, mode); f != nil {
		goto created
	}
	for {
		tmp = filepath.Join(dir, tempPrefix+strconv.Itoa(os.Getpid())+"."+strconv.FormatUint(tempSeq.Add(1), 10))
		var err error
		f, err = openFD(tmp, unix.O_RDWR|unix.O_CREAT|unix.O_EXCL, uint32(mode))
		if err == nil {
			break
		}
		if !errors.Is(err, fs.ErrExist) { // else: left by a dead process with our pid
			return nil, fmt.Errorf("create queue file: %w", err)
		}
	}
created:
	w := &Writer{l: l, queue: queue, f: f, tmp: tmp, name: tmp, created: time.Now()}
	if tmp == "" {
		w.name = filepath.Join(dir, "(new queue file)")
	}
	fail := func(err error) (*Writer, error) {
		f.Close()
		if tmp != "" {
			os.Remove(tmp)
		}
		return nil, err
	}
	// The inode makes the ID unique: this fstat is the one system call
	// the ID costs.
	var st unix.Stat_t
	if err := f.do(func(fd int) error { return unix.Fstat(fd, &st) }); err != nil {
		return fail(fmt.Errorf("stat queue file %s: %w", w.name, err))
	}
	if mode != 0o600 {
		// The umask may have taken bits away.
		if err := f.do(func(fd int) error { return unix.Fchmod(fd, uint32(mode)) }); err != nil {
			return fail(fmt.Errorf("set mode of queue file %s: %w", w.name, err))
		}
	}
	w.id = NewID(w.created, st.Ino)
	w.bp = writeBufs.Get().(*[]byte)
	return w, nil
}

// ID is the message's queue ID.
func (w *Writer) ID() string { return w.id }

// Size is the number of content bytes written so far.
func (w *Writer) Size() int64 { return w.contentLen }

// SetEnvelope sets the envelope: it must come before the content. The
// recipients in e are written, like those of AddRecipient, after the
// content. A zero Arrival means the time NewWriter was called.
func (w *Writer) SetEnvelope(e *Envelope) {
	if w.err != nil {
		return
	}
	if w.headLen != 0 {
		w.err = fmt.Errorf("queue file %s: envelope set twice", w.id)
		return
	}
	b, err := encodeHead((*w.bp)[:0], e, w.created)
	*w.bp = b
	if err != nil {
		w.err = fmt.Errorf("queue file %s: %w", w.id, err)
		return
	}
	w.headLen = len(b)
	w.flags = e.Flags
	w.rcpts = append(w.rcpts, e.Recipients...)
}

// Write appends message content: an RFC 5322 message with LF line ends.
func (w *Writer) Write(p []byte) (int, error) {
	if w.err == nil && w.headLen == 0 {
		w.err = fmt.Errorf("queue file %s: content written before the envelope", w.id)
	}
	if w.err == nil && w.contentLen+int64(len(p)) > maxContentLen {
		w.err = fmt.Errorf("queue file %s: message exceeds %d bytes", w.id, int64(maxContentLen))
	}
	if w.err != nil {
		return 0, w.err
	}
	w.contentLen += int64(len(p))
	b := *w.bp
	if len(b)+len(p) <= cap(b) {
		*w.bp = append(b, p...)
		return len(p), nil
	}
	if err := w.flush(); err != nil {
		return 0, err
	}
	if len(p) >= cap(b) {
		if err := w.write(p); err != nil {
			return 0, err
		}
	} else {
		*w.bp = append(*w.bp, p...)
	}
	return len(p), nil
}

// AddRecipient adds a recipient; recipients are written after the
// content, so they may be added while or after it is written.
func (w *Writer) AddRecipient(r Recipient) {
	w.rcpts = append(w.rcpts, r)
}

// flush writes the buffer, keeping a copy of the head the first time so
// that Commit can fill in the content length and recipient count.
func (w *Writer) flush() error {
	if w.written == 0 {
		w.head = append([]byte(nil), (*w.bp)[:w.headLen]...)
	}
	err := w.write(*w.bp)
	*w.bp = (*w.bp)[:0]
	return err
}

func (w *Writer) write(p []byte) error {
	if _, err := w.f.Write(p); err != nil {
		w.err = fmt.Errorf("write queue file %s: %w", w.name, err)
		return w.err
	}
	w.written += int64(len(p))
	return nil
}

// Commit makes the message durable: it writes the recipients and the end
// record, fsyncs the file, renames it to its ID (never replacing a file)
// and fsyncs the directory. Only after Commit returns nil may the message
// be acknowledged. On error the file is removed.
func (w *Writer) Commit() error {
	if w.done {
		return fmt.Errorf("queue file %s: already committed or aborted", w.id)
	}
	if err := w.commit(); err != nil {
		w.Abort()
		return err
	}
	w.done = true
	w.release()
	return nil
}

func (w *Writer) commit() error {
	if w.err == nil && w.headLen == 0 {
		w.err = fmt.Errorf("queue file %s: no envelope", w.id)
	}
	if w.err != nil {
		return w.err
	}
	b := *w.bp
	tailStart := len(b)
	for i := range w.rcpts {
		var err error
		if b, err = appendRecipient(b, &w.rcpts[i]); err != nil {
			return fmt.Errorf("queue file %s: %w", w.id, err)
		}
	}
	b = appendRecord(b, RecEnd, "")
	*w.bp = b
	if len(b)-tailStart > maxTailLen {
		return fmt.Errorf("queue file %s: %d recipients exceed the size limit", w.id, len(w.rcpts))
	}
	head := b[:w.headLen]
	if w.written > 0 {
		head = w.head
	}
	putSize(head, w.contentLen, int64(w.headLen), len(w.rcpts), w.flags)
	putContentLen(head[w.headLen-contentLenLen:], w.contentLen)
	if err := w.write(b); err != nil {
		return err
	}
	if len(w.head) > 0 {
		if _, err := w.f.WriteAt(w.head, 0); err != nil {
			return fmt.Errorf("write queue file %s: %w", w.name, err)
		}
	}
	dst := w.l.Path(w.queue, w.id)
	if w.tmp == "" {
		return w.commitUnnamed(dst)
	}
	if err := w.f.sync(); err != nil {
		return fmt.Errorf("fsync queue file %s: %w", w.tmp, err)
	}
	err := renameNoReplace(w.tmp, dst)
	if errors.Is(err, fs.ErrNotExist) && filepath.Dir(dst) != filepath.Dir(w.tmp) {
		if os.MkdirAll(filepath.Dir(dst), 0o700) == nil { // a missing hashed subdirectory
			err = renameNoReplace(w.tmp, dst)
		}
	}
	if err != nil {
		return fmt.Errorf("rename queue file %s to %s: %w", w.tmp, dst, err)
	}
	w.tmp = dst // what Abort removes if the rest fails
	if err := syncDir(filepath.Dir(dst), w.f); err != nil {
		return err
	}
	if err := w.f.Close(); err != nil {
		return fmt.Errorf("close queue file %s: %w", dst, err)
	}
	return nil
}

// Abort removes the file unless it was committed.
func (w *Writer) Abort() error {
	if w.done {
		return nil
	}
	w.done = true
	w.f.Close()
	w.release()
	if w.tmp == "" {
		return nil // an unnamed file vanishes with its descriptor
	}
	if err := os.Remove(w.tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove queue file: %w", err)
	}
	return nil
}

func (w *Writer) release() {
	if w.bp != nil {
		*w.bp = (*w.bp)[:0]
		if cap(*w.bp) == writeBufSize {
			writeBufs.Put(w.bp)
		}
		w.bp = nil
	}
}

// renameNoReplace renames old to new unless new exists. Where the file
// system lacks renameat2's RENAME_NOREPLACE, link and unlink do the same.
func renameNoReplace(oldpath, newpath string) error {
	err := unix.Renameat2(unix.AT_FDCWD, oldpath, unix.AT_FDCWD, newpath, unix.RENAME_NOREPLACE)
	if err == unix.EINVAL || err == unix.ENOSYS {
		if err = os.Link(oldpath, newpath); err == nil {
			return os.Remove(oldpath)
		}
		return err
	}
	if err != nil {
		return &os.LinkError{Op: "rename", Old: oldpath, New: newpath, Err: err}
	}
	return nil
}

// syncDir makes a new directory entry durable. A set-group-ID postdrop
// may write into maildrop (mode 0730) without being able to open it; it
// then flushes the whole file system instead.
func syncDir(dir string, f *fdFile) error {
	d, err := os.Open(dir)
	if errors.Is(err, fs.ErrPermission) {
		if err := f.do(unix.Syncfs); err != nil {
			return fmt.Errorf("sync file system of %s: %w", dir, err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("open queue directory to fsync it: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) {
		return fmt.Errorf("fsync queue directory %s: %w", dir, err)
	}
	return nil
}

// RemoveTemp removes the files writers left in queue's directory, from
// before a crash. Call it only when no writer can be at work there (master
// does, for incoming/ and hold/, before it starts cleanup). It returns how
// many it removed.
func (l *Layout) RemoveTemp(queue string) (int, error) {
	dir := l.Dir(queue)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return 0, fmt.Errorf("list %s: %w", dir, err)
	}
	n := 0
	for _, e := range ents {
		if !e.Type().IsRegular() || !strings.HasPrefix(e.Name(), tempPrefix) {
			continue
		}
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return n, fmt.Errorf("remove leftover %s: %w", filepath.Join(dir, e.Name()), err)
		}
		n++
	}
	return n, nil
}
