package maps

import (
	"path/filepath"
	"sync"

	"github.com/fsnotify/fsnotify"
)

// The watch hub is one fsnotify watcher per process, shared by every
// table that reads a file. It watches the directories (a rebuilt .db
// arrives by rename, which a watch on the file itself would miss) and
// marks the tables whose file an event names as dirty; the table's next
// lookup then stats the file and reloads it if it changed.
//
// The hub's goroutine lives as long as the process, like the cached
// tables it serves. When inotify is unavailable (limits reached), tables
// still notice changes through their once-a-second stat check.
type watchHub struct {
	mu    sync.Mutex
	w     *fsnotify.Watcher
	err   error // why there is no watcher
	dirs  map[string]bool
	files map[string][]func()
}

var hub = &watchHub{dirs: map[string]bool{}, files: map[string][]func(){}}

// watchFile calls onChange (from the hub's goroutine; it must be quick)
// whenever an event names path.
func watchFile(path string, onChange func()) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return
	}
	hub.mu.Lock()
	defer hub.mu.Unlock()
	if hub.w == nil {
		if hub.err != nil {
			return
		}
		w, err := fsnotify.NewWatcher()
		if err != nil {
			hub.err = err
			return
		}
		hub.w = w
		go hub.run(w)
	}
	dir := filepath.Dir(abs)
	if !hub.dirs[dir] {
		if err := hub.w.Add(dir); err != nil {
			return // the stat check still works
		}
		hub.dirs[dir] = true
	}
	hub.files[abs] = append(hub.files[abs], onChange)
}

func (h *watchHub) run(w *fsnotify.Watcher) {
	for {
		select {
		case ev, ok := <-w.Events:
			if !ok {
				return
			}
			h.notify(filepath.Clean(ev.Name))
		case _, ok := <-w.Errors:
			if !ok {
				return
			}
			// An overflow loses events; mark everything dirty so the
			// stat checks decide.
			h.notifyAll()
		}
	}
}

func (h *watchHub) notify(name string) {
	h.mu.Lock()
	fns := h.files[name]
	h.mu.Unlock()
	for _, fn := range fns {
		fn()
	}
}

func (h *watchHub) notifyAll() {
	h.mu.Lock()
	var all []func()
	for _, fns := range h.files {
		all = append(all, fns...)
	}
	h.mu.Unlock()
	for _, fn := range all {
		fn()
	}
}
