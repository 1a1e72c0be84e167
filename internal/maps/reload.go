package maps

import (
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// checkInterval is how often a lookup may stat a table's file when no
// file system event said it changed.
const checkInterval = time.Second

// fileID identifies one version of a file: a rebuilt .db is a new inode
// (rename), an edited text file has a new size or modification time.
type fileID struct {
	dev, ino    uint64
	size        int64
	mtime, ctim int64
}

func statID(path string) (fileID, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return fileID{}, err
	}
	id := fileID{size: fi.Size(), mtime: fi.ModTime().UnixNano()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		id.dev = uint64(st.Dev)
		id.ino = st.Ino
		id.ctim = st.Ctim.Nano()
	}
	return id, nil
}

// epoch anchors monotonic time, so a wall clock step never stops checks.
var epoch = time.Now()

func monotonic() int64 { return int64(time.Since(epoch)) }

// snapshot is one loaded version of a table's file.
type snapshot[T any] struct {
	val T
	id  fileID
}

// reloader keeps the current version of a file-backed table and loads a
// new one when the file changes. Lookups take the current snapshot
// without locking; the stat check runs at most once per checkInterval,
// or at the next lookup after the file watcher marked the file dirty.
// Only one goroutine reloads at a time, the others keep using the old
// snapshot meanwhile: a slow reload never stalls lookups.
type reloader[T any] struct {
	path    string
	desc    string // "table hash:/etc/postern/access" for messages
	load    func(path string) (T, error)
	release func(T) // frees a replaced snapshot (closes a bbolt file)
	warn    func(format string, args ...any)
	static  bool

	cur   atomic.Pointer[snapshot[T]]
	next  atomic.Int64 // monotonic time of the next stat check
	dirty atomic.Bool

	mu       sync.Mutex // held by the one goroutine reloading
	failedID fileID     // version that failed to load; not retried
	lastErr  string     // last stat error warned about
}

// newReloader loads path once; unless static, it then watches the file.
func newReloader[T any](path, desc string, opt Options, load func(string) (T, error), release func(T)) (*reloader[T], error) {
	r := &reloader[T]{path: path, desc: desc, load: load, release: release, warn: opt.warnf, static: opt.NoReload}
	id, err := statID(path)
	if err != nil {
		return nil, err
	}
	v, err := load(path)
	if err != nil {
		return nil, err
	}
	r.cur.Store(&snapshot[T]{val: v, id: id})
	r.next.Store(monotonic() + int64(checkInterval))
	if !r.static {
		watchFile(path, func() {
			r.dirty.Store(true)
			staleIfConfined(r.desc)
		})
	}
	return r, nil
}

// current returns the snapshot to use for one lookup.
func (r *reloader[T]) current() *snapshot[T] {
	s := r.cur.Load()
	if r.static {
		return s
	}
	if !r.dirty.Load() && monotonic() < r.next.Load() {
		return s
	}
	return r.check(s)
}

func (r *reloader[T]) check(s *snapshot[T]) *snapshot[T] {
	if !r.mu.TryLock() {
		return s // someone else is checking; use what we have
	}
	defer r.mu.Unlock()
	s = r.cur.Load()
	r.dirty.Store(false)
	if confined.Load() != nil {
		// The file is out of reach (see Confine): keep this version.
		r.next.Store(neverCheck)
		return s
	}
	r.next.Store(monotonic() + int64(checkInterval))
	id, err := statID(r.path)
	if err != nil {
		if msg := err.Error(); msg != r.lastErr {
			r.lastErr = msg
			r.warn("%s: %v; keeping the version already loaded", r.desc, err)
		}
		return s
	}
	r.lastErr = ""
	if id == s.id || id == r.failedID {
		return s
	}
	v, err := r.load(r.path)
	if err != nil {
		r.failedID = id
		r.warn("%s: reload: %v; keeping the version already loaded", r.desc, err)
		return s
	}
	ns := &snapshot[T]{val: v, id: id}
	r.cur.Store(ns)
	if after, err := statID(r.path); err != nil || after != id {
		// The file changed while we read it (an editor still writing):
		// look again at the next lookup.
		r.dirty.Store(true)
	}
	if r.release != nil {
		r.release(s.val)
	}
	return ns
}

func describe(spec string) string { return fmt.Sprintf("table %s", spec) }
