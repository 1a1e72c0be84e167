package queue

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"
)

func TestMakeDirsModes(t *testing.T) {
	l := NewLayout(filepath.Join(t.TempDir(), "spool"), []string{Deferred, Defer}, 1)
	check := func() {
		t.Helper()
		for _, d := range queueDirs {
			fi, err := os.Lstat(l.Dir(d.name))
			if err != nil {
				t.Fatal(err)
			}
			if got := fi.Mode() & (fs.ModePerm | fs.ModeSetgid); !fi.IsDir() || got != d.mode {
				t.Errorf("%s: mode %v, want directory %v", d.name, got, d.mode)
			}
		}
		for _, q := range []string{Deferred, Defer} {
			ents, err := os.ReadDir(l.Dir(q))
			if err != nil || len(ents) != 16 {
				t.Errorf("%s: %d hashed subdirectories, %v", q, len(ents), err)
			}
		}
	}
	if err := l.MakeDirs(-1, -1); err != nil {
		t.Fatal(err)
	}
	check()
	// A second run repairs modes and leaves the rest alone.
	if err := os.Chmod(l.Dir(Maildrop), 0o777); err != nil {
		t.Fatal(err)
	}
	if err := l.MakeDirs(-1, -1); err != nil {
		t.Fatal(err)
	}
	check()

	if err := os.Remove(l.Dir(Hold)); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/tmp", l.Dir(Hold)); err != nil {
		t.Fatal(err)
	}
	if err := l.MakeDirs(-1, -1); err == nil {
		t.Error("MakeDirs accepted a symbolic link as a queue directory")
	}
}

func TestMakeDirsOwners(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to change owners")
	}
	l := NewLayout(t.TempDir(), nil, 1)
	if err := l.MakeDirs(4321, 8765); err != nil {
		t.Fatal(err)
	}
	for _, d := range queueDirs {
		fi, err := os.Lstat(l.Dir(d.name))
		if err != nil {
			t.Fatal(err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		if st.Uid != 4321 || d.group && st.Gid != 8765 || !d.group && st.Gid == 8765 {
			t.Errorf("%s: owner %d:%d", d.name, st.Uid, st.Gid)
		}
	}
}

func TestFindMoveRemove(t *testing.T) {
	l := newLayout(t)
	id, path := writeMessage(t, l, Incoming, &Envelope{}, "x\n")
	if q, p, err := l.Find(id); err != nil || q != Incoming || p != path {
		t.Errorf("Find = %s, %s, %v", q, p, err)
	}
	if err := l.Move(id, Incoming, Deferred); err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(l.Root, Deferred, hashDirs(id, 1), id)
	if q, p, err := l.Find(id); err != nil || q != Deferred || p != want {
		t.Errorf("after Move, Find = %s, %s, %v; want deferred, %s", q, p, err, want)
	}
	if _, _, err := l.Find(id, Incoming, Hold); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Find in queues without it: %v", err)
	}
	if _, _, err := l.Find("../etc"); !errors.Is(err, ErrInvalidID) {
		t.Errorf("Find(bad ID): %v", err)
	}
	if err := l.Remove(Deferred, id); err != nil {
		t.Fatal(err)
	}
	if _, _, err := l.Find(id); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("after Remove, Find: %v", err)
	}
	if err := l.Move(id, Incoming, Active); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Move of a missing file: %v", err)
	}
}

func TestMoveCreatesMissingHashDir(t *testing.T) {
	l := newLayout(t)
	id, _ := writeMessage(t, l, Incoming, &Envelope{}, "x\n")
	deeper := NewLayout(l.Root, []string{Deferred}, 3)
	if err := deeper.Move(id, Incoming, Deferred); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(deeper.Path(Deferred, id)); err != nil {
		t.Error(err)
	}
}

func TestWalk(t *testing.T) {
	l := newLayout(t)
	var want []string
	for range 3 {
		id, _ := writeMessage(t, l, Incoming, &Envelope{}, "x\n")
		if err := l.Move(id, Incoming, Deferred); err != nil {
			t.Fatal(err)
		}
		want = append(want, id)
	}
	// An unhashed file left from other settings is found too.
	id, _ := writeMessage(t, l, Incoming, &Envelope{}, "x\n")
	if err := os.Rename(l.Path(Incoming, id), filepath.Join(l.Dir(Deferred), id)); err != nil {
		t.Fatal(err)
	}
	want = append(want, id)
	// A writer in progress and stray names are not messages.
	w, err := l.NewWriter(Deferred)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	w.SetEnvelope(&Envelope{})
	if err := os.WriteFile(filepath.Join(l.Dir(Deferred), "README"), nil, 0o600); err != nil {
		t.Fatal(err)
	}

	var got []string
	err = l.Walk(Deferred, func(id, path string) error {
		if filepath.Base(path) != id {
			t.Errorf("path %s for %s", path, id)
		}
		got = append(got, id)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("Walk found %v, want %v", got, want)
	}

	stop := errors.New("stop")
	if err := l.Walk(Deferred, func(string, string) error { return stop }); err != stop {
		t.Errorf("Walk returned %v, want the callback's error", err)
	}
}

func TestNextTry(t *testing.T) {
	l := newLayout(t)
	_, path := writeMessage(t, l, Incoming, &Envelope{}, "x\n")
	next := time.Now().Add(300 * time.Second).Truncate(time.Second)
	if err := l.SetNextTry(path, next); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := NextTry(fi); !got.Equal(next) {
		t.Errorf("NextTry = %v, want %v", got, next)
	}
}
