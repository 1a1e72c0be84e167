package maps

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"time"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/sys/unix"
)

// DupMode says what a Builder does with a key it already has.
type DupMode int

const (
	// DupWarn keeps the first value and warns (postmap's default):
	// `FILE.db: duplicate entry: "key"`.
	DupWarn DupMode = iota
	// DupIgnore keeps the first value silently (postmap -w).
	DupIgnore
	// DupReplace keeps the last value silently (postmap -r).
	DupReplace
)

// BuildOptions say how a Builder writes a compiled table.
type BuildOptions struct {
	// FoldCase folds keys to lower case (postmap without -f).
	FoldCase bool
	// Dup is the duplicate-key policy.
	Dup DupMode
	// Warn receives duplicate-entry warnings, without "warning: ".
	Warn func(msg string)
	// Mode is the permission of the new file. Zero means: keep the mode
	// of the file being replaced, or 0644 for a new one.
	Mode os.FileMode
	// Chown gives the new file UID and GID (postmap run as root gives
	// the table its source's owner). Otherwise a replaced file's owner
	// is kept when we may, and a new file belongs to the caller.
	Chown    bool
	UID, GID int
	// LockTimeout bounds the wait for another builder working in the
	// same directory; zero means 30 seconds.
	LockTimeout time.Duration
}

// chunkSize is how many entries a Builder sorts in memory before writing
// them in one transaction: sorted writes keep bbolt pages full and fast,
// and the chunk bounds the memory a huge source can take.
const chunkSize = 1 << 17

// Builder writes a compiled table (FILE.db, a bbolt file) the safe way:
// it works on a temporary file in the same directory, and Commit fsyncs
// it and renames it over FILE.db, so a reader sees the old table or the
// new one, never a part. Builders of one directory exclude each other
// (a flock on the directory), so "postmap -i" never loses an update to a
// concurrent rebuild. Readers take no part in this lock.
//
// Use Create for a full rebuild, Update for -i and -d; then Add, Set and
// Delete; then Commit, or Abort to leave FILE.db as it was. A Builder
// is for one goroutine.
type Builder struct {
	path, tmp string
	opt       BuildOptions
	lock      *os.File
	db        *bolt.DB
	pending   []pendingEntry
	seq       int
	hasData   bool   // the table may already hold keys: check before adding
	lastKey   string // the greatest key written, when hasData came from us
	appendOK  bool   // every key in the table is <= lastKey
	keepMode  os.FileMode
	keepOwner *[2]int
	done      bool
}

type pendingEntry struct {
	key, value string
	seq        int
}

// Create starts a new, empty table that will replace dbPath (FILE.db).
func Create(dbPath string, opt BuildOptions) (*Builder, error) {
	return start(dbPath, opt, false)
}

// Update starts a change of the table in dbPath, from a copy of it (an
// empty table when it does not exist).
func Update(dbPath string, opt BuildOptions) (*Builder, error) {
	return start(dbPath, opt, true)
}

func start(dbPath string, opt BuildOptions, keep bool) (_ *Builder, err error) {
	b := &Builder{path: dbPath, opt: opt, keepMode: 0o644, appendOK: true}
	dir := filepath.Dir(dbPath)
	if b.lock, err = lockDir(dir, opt.LockTimeout); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			b.Abort()
		}
	}()
	removeStaleTemps(dbPath)
	var old *os.File
	if fi, err := os.Stat(dbPath); err == nil {
		b.keepMode = fi.Mode().Perm()
		b.keepOwner = ownerOf(fi)
		if keep {
			if old, err = os.Open(dbPath); err != nil {
				return nil, fmt.Errorf("open database %s: %w", dbPath, unwrapPath(err))
			}
			defer old.Close()
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("stat %s: %w", dbPath, unwrapPath(err))
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(dbPath)+".tmp*")
	if err != nil {
		return nil, fmt.Errorf("create temporary file in %s: %w", dir, unwrapPath(err))
	}
	b.tmp = f.Name()
	if old != nil {
		if _, err := io.Copy(f, old); err != nil {
			f.Close()
			return nil, fmt.Errorf("copy %s to %s: %w", dbPath, b.tmp, err)
		}
		b.hasData = true
		b.appendOK = false
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("write %s: %w", b.tmp, err)
	}
	b.db, err = bolt.Open(b.tmp, 0o600, &bolt.Options{Timeout: time.Second, NoSync: true, NoStatistics: true})
	if err != nil {
		if old != nil {
			return nil, fmt.Errorf("open database %s: %w: %v", dbPath, errNotTable, err)
		}
		return nil, fmt.Errorf("open %s: %w", b.tmp, err)
	}
	err = b.db.Update(func(tx *bolt.Tx) error {
		if old != nil {
			return checkFormatTx(tx)
		}
		m, err := tx.CreateBucket(bucketMeta)
		if err != nil {
			return err
		}
		if err := m.Put(metaFormat, dbFormat); err != nil {
			return err
		}
		_, err = tx.CreateBucket(bucketTable)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", dbPath, err)
	}
	return b, nil
}

func checkFormatTx(tx *bolt.Tx) error {
	m := tx.Bucket(bucketMeta)
	if m == nil || tx.Bucket(bucketTable) == nil {
		return errNotTable
	}
	if f := m.Get(metaFormat); string(f) != string(dbFormat) {
		return fmt.Errorf("%w: unknown format %q", errNotTable, f)
	}
	return nil
}

// removeStaleTemps removes temporary files a killed builder left behind.
// Only a builder holding the directory lock has a temporary file, and we
// hold it now, so any that exist are orphans.
func removeStaleTemps(dbPath string) {
	pattern := filepath.Join(filepath.Dir(dbPath), "."+globEscape(filepath.Base(dbPath))+".tmp*")
	names, _ := filepath.Glob(pattern)
	for _, n := range names {
		_ = os.Remove(n)
	}
}

func globEscape(s string) string {
	var b []byte
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '*', '?', '[', '\\':
			b = append(b, '\\')
		}
		b = append(b, s[i])
	}
	return string(b)
}

// MaxKeyLength is the longest key a compiled table holds (bbolt's limit).
const MaxKeyLength = bolt.MaxKeySize

// Path returns the FILE.db the builder replaces.
func (b *Builder) Path() string { return b.path }

// Add adds an entry under the builder's duplicate policy. Keys are folded
// when BuildOptions.FoldCase is set. An empty key, or one longer than
// MaxKeyLength, is refused.
func (b *Builder) Add(key, value string) error {
	if b.done {
		return errors.New("builder already finished")
	}
	if key == "" {
		return errors.New("empty key")
	}
	if len(key) > MaxKeyLength {
		return fmt.Errorf("key longer than %d bytes", MaxKeyLength)
	}
	if b.opt.FoldCase {
		key = foldKey(key)
	}
	b.seq++
	b.pending = append(b.pending, pendingEntry{key: key, value: value, seq: b.seq})
	if len(b.pending) >= chunkSize {
		return b.flush()
	}
	return nil
}

// Set stores an entry, replacing any value the key has, without a
// warning; postalias uses it for the "@" sentinel.
func (b *Builder) Set(key, value string) error {
	if err := b.flush(); err != nil {
		return err
	}
	if b.opt.FoldCase {
		key = foldKey(key)
	}
	b.hasData = true
	b.appendOK = false
	return b.update(func(t *bolt.Bucket) error { return t.Put([]byte(key), []byte(value)) })
}

// Delete removes key; found says whether it was there.
func (b *Builder) Delete(key string) (found bool, err error) {
	if err := b.flush(); err != nil {
		return false, err
	}
	if b.opt.FoldCase {
		key = foldKey(key)
	}
	err = b.update(func(t *bolt.Bucket) error {
		if t.Get([]byte(key)) == nil {
			return nil
		}
		found = true
		return t.Delete([]byte(key))
	})
	return found, err
}

func (b *Builder) update(fn func(*bolt.Bucket) error) error {
	if b.done {
		return errors.New("builder already finished")
	}
	err := b.db.Update(func(tx *bolt.Tx) error {
		t := tx.Bucket(bucketTable)
		if t == nil {
			return errNotTable
		}
		return fn(t)
	})
	if err != nil {
		return fmt.Errorf("table %s: write error: %w", b.path, err)
	}
	return nil
}

// flush writes the pending entries in key order, applying the duplicate
// policy within the chunk and against what the table already holds.
func (b *Builder) flush() error {
	if len(b.pending) == 0 {
		return nil
	}
	p := b.pending
	slices.SortFunc(p, func(x, y pendingEntry) int {
		if c := cmp.Compare(x.key, y.key); c != 0 {
			return c
		}
		return cmp.Compare(x.seq, y.seq)
	})
	var dups []pendingEntry
	// A chunk whose keys all sort after everything written so far (a
	// sorted source, or the first chunk) is a pure append: no key can be
	// there already, and pages may be filled completely.
	appendOnly := b.appendOK && (!b.hasData || p[0].key > b.lastKey)
	check := b.hasData && !appendOnly
	err := b.update(func(t *bolt.Bucket) error {
		if appendOnly {
			t.FillPercent = 1.0
		}
		for i := 0; i < len(p); {
			j := i + 1
			for j < len(p) && p[j].key == p[i].key {
				j++
			}
			k := []byte(p[i].key)
			switch {
			case b.opt.Dup == DupReplace:
				if err := t.Put(k, []byte(p[j-1].value)); err != nil {
					return err
				}
			case check && t.Get(k) != nil:
				dups = append(dups, p[i:j]...)
			default:
				if err := t.Put(k, []byte(p[i].value)); err != nil {
					return err
				}
				dups = append(dups, p[i+1:j]...)
			}
			i = j
		}
		return nil
	})
	if appendOnly {
		b.lastKey = p[len(p)-1].key
	} else {
		b.appendOK = false
	}
	b.pending = p[:0]
	b.hasData = true
	if err != nil {
		return err
	}
	if b.opt.Dup == DupWarn && b.opt.Warn != nil {
		slices.SortFunc(dups, func(x, y pendingEntry) int { return cmp.Compare(x.seq, y.seq) })
		for _, d := range dups {
			b.opt.Warn(fmt.Sprintf("%s: duplicate entry: %q", b.path, d.key))
		}
	}
	return nil
}

// Commit writes what is pending, makes the file durable and renames it
// over FILE.db.
func (b *Builder) Commit() error {
	if b.done {
		return errors.New("builder already finished")
	}
	if err := b.flush(); err != nil {
		b.Abort()
		return err
	}
	if err := b.finish(); err != nil {
		b.Abort()
		return err
	}
	b.done = true
	b.unlock()
	return nil
}

func (b *Builder) finish() error {
	if err := b.db.Sync(); err != nil {
		return fmt.Errorf("fsync %s: %w", b.tmp, err)
	}
	if err := b.db.Close(); err != nil {
		return fmt.Errorf("close %s: %w", b.tmp, err)
	}
	b.db = nil
	mode := b.opt.Mode
	if mode == 0 {
		mode = b.keepMode
	}
	if err := os.Chmod(b.tmp, mode); err != nil {
		return fmt.Errorf("chmod %s: %w", b.tmp, unwrapPath(err))
	}
	switch {
	case b.opt.Chown:
		if err := os.Lchown(b.tmp, b.opt.UID, b.opt.GID); err != nil {
			return fmt.Errorf("chown %s: %w", b.tmp, unwrapPath(err))
		}
	case b.keepOwner != nil && os.Geteuid() == 0:
		if err := os.Lchown(b.tmp, b.keepOwner[0], b.keepOwner[1]); err != nil {
			return fmt.Errorf("chown %s: %w", b.tmp, unwrapPath(err))
		}
	}
	if err := os.Rename(b.tmp, b.path); err != nil {
		return fmt.Errorf("rename %s to %s: %w", b.tmp, b.path, unwrapPath(err))
	}
	b.tmp = ""
	return syncDir(filepath.Dir(b.path))
}

// Abort drops the temporary file; FILE.db stays as it was. Abort after
// Commit does nothing.
func (b *Builder) Abort() {
	if b.db != nil {
		_ = b.db.Close()
		b.db = nil
	}
	if b.tmp != "" {
		_ = os.Remove(b.tmp)
		b.tmp = ""
	}
	b.done = true
	b.unlock()
}

func (b *Builder) unlock() {
	if b.lock != nil {
		_ = b.lock.Close() // closing releases the flock
		b.lock = nil
	}
}

// lockDir takes an exclusive flock on a directory, waiting at most
// timeout for another builder to finish.
func lockDir(dir string, timeout time.Duration) (*os.File, error) {
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	f, err := os.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", dir, unwrapPath(err))
	}
	deadline := time.Now().Add(timeout)
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, unix.EWOULDBLOCK) && !errors.Is(err, unix.EINTR) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", dir, err)
		}
		if time.Now().After(deadline) {
			f.Close()
			return nil, fmt.Errorf("lock %s: another postmap or postalias has held it for %v", dir, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open %s: %w", dir, unwrapPath(err))
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("fsync %s: %w", dir, err)
	}
	return nil
}

// unwrapPath drops the *fs.PathError layer when the message already
// names the file.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// ownerOf returns a file's uid and gid.
func ownerOf(fi os.FileInfo) *[2]int {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return &[2]int{int(st.Uid), int(st.Gid)}
	}
	return nil
}

// Inherit sets Mode and Chown the way postmap and postalias treat a table
// built from the source file src: with perm, the new file gets mode 0644
// less the group and other read bits src lacks (a source readable only
// by its owner gives a table readable only by its owner), else 0644;
// with owner, when running as root, the table gets src's owner and group
// (Postfix runs as the source's owner instead; -o turns this off).
func (o *BuildOptions) Inherit(src os.FileInfo, owner, perm bool) {
	o.Mode = 0o644
	if perm && src.Mode().IsRegular() {
		o.Mode &= 0o600 | src.Mode().Perm()&0o044
	}
	if own := ownerOf(src); owner && own != nil && os.Geteuid() == 0 {
		o.Chown, o.UID, o.GID = true, own[0], own[1]
	}
}
