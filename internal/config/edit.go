package config

// Editing main.cf in place, for postconf -e, -X and -#. Comments, blank
// lines and the order of everything not edited are kept byte for byte.

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// Change is one edit of main.cf.
type Change struct {
	Name  string
	Value string // the new value (ignored by Remove and Comment)
	// Remove deletes every assignment of Name (postconf -X); Comment puts
	// "#" before each of their lines (postconf -#). With neither, every
	// assignment becomes "Name = Value", or one is appended (postconf -e).
	Remove, Comment bool
}

// ParseChange reads a postconf -e argument: "name = value" or "name=value".
func ParseChange(arg string) (Change, error) {
	name, value, err := splitAssignment(strings.TrimSpace(arg))
	if err != nil {
		return Change{}, err
	}
	return Change{Name: name, Value: value}, nil
}

// check refuses a change whose value would make main.cf unreadable.
func (ch Change) check() error {
	if ch.Name == "" || strings.ContainsFunc(ch.Name, func(r rune) bool {
		return r <= ' ' || r == 0x7f || strings.ContainsRune("=#${}", r)
	}) {
		return fmt.Errorf("bad parameter name %q", ch.Name)
	}
	if ch.Remove || ch.Comment {
		return nil
	}
	if strings.ContainsAny(ch.Value, "\r\n\x00") {
		return fmt.Errorf("%s: a value cannot contain a line break or NUL", ch.Name)
	}
	if rawParams[ch.Name] {
		return nil
	}
	if _, err := parseValue(ch.Value); err != nil {
		return fmt.Errorf("%s = %s: %w", ch.Name, excerpt(ch.Value), err)
	}
	return nil
}

// entry is one assignment in main.cf: its first line and the continuation
// lines that belong to it (comments between them do not).
type entry struct {
	name  string
	lines []int
}

// entries finds the assignments among lines (each with its newline).
func entries(lines []string) []entry {
	var out []entry
	for i, l := range lines {
		t := strings.TrimSpace(l)
		if t == "" || t[0] == '#' {
			continue
		}
		if isSpace(l[0]) {
			if len(out) > 0 {
				out[len(out)-1].lines = append(out[len(out)-1].lines, i)
			}
			continue
		}
		name, _, _ := strings.Cut(t, "=")
		out = append(out, entry{name: strings.TrimSpace(name), lines: []int{i}})
	}
	return out
}

// ApplyChanges returns main.cf text with changes made, in order, and the
// names that had more than one assignment (all of them were changed).
func ApplyChanges(data []byte, changes []Change) ([]byte, []string, error) {
	for _, ch := range changes {
		if err := ch.check(); err != nil {
			return nil, nil, err
		}
	}
	text := string(data)
	var multiple []string
	for _, ch := range changes {
		lines := strings.SplitAfter(text, "\n")
		if lines[len(lines)-1] == "" {
			lines = lines[:len(lines)-1]
		}
		drop := map[int]bool{}
		found := 0
		for _, e := range entries(lines) {
			if e.name != ch.Name {
				continue
			}
			found++
			for k, i := range e.lines {
				switch {
				case ch.Comment:
					lines[i] = "#" + lines[i]
				case ch.Remove || k > 0:
					drop[i] = true
				default:
					lines[i] = ch.Name + " = " + ch.Value + "\n"
				}
			}
		}
		if found > 1 && !ch.Remove && !ch.Comment {
			multiple = append(multiple, ch.Name)
		}
		var b strings.Builder
		for i, l := range lines {
			if !drop[i] {
				b.WriteString(l)
			}
		}
		if found == 0 && !ch.Remove && !ch.Comment {
			if b.Len() > 0 && !strings.HasSuffix(b.String(), "\n") {
				b.WriteByte('\n')
			}
			b.WriteString(ch.Name + " = " + ch.Value + "\n")
		}
		text = b.String()
	}
	return []byte(text), multiple, nil
}

// EditMain applies changes to the main.cf file, atomically: the new text is
// written to a temporary file in the same directory, synced, given the old
// file's mode and owner, and renamed over it. A missing main.cf is created.
// It returns the names that had more than one assignment.
func EditMain(file string, changes []Change) ([]string, error) {
	data, err := readLimited(file)
	mode := fs.FileMode(0o644)
	uid, gid := -1, -1
	switch {
	case errors.Is(err, fs.ErrNotExist):
		data = nil
	case err != nil:
		return nil, err
	default:
		if fi, err := os.Stat(file); err == nil {
			mode = fi.Mode().Perm()
			if st, ok := fi.Sys().(*syscall.Stat_t); ok {
				uid, gid = int(st.Uid), int(st.Gid)
			}
		}
	}
	out, multiple, err := ApplyChanges(data, changes)
	if err != nil {
		return nil, err
	}
	if err := writeAtomic(file, out, mode, uid, gid); err != nil {
		return nil, err
	}
	return multiple, nil
}

// writeAtomic replaces file with data by temporary file, fsync and rename,
// then syncs the directory so the rename survives a crash.
func writeAtomic(file string, data []byte, mode fs.FileMode, uid, gid int) error {
	dir := filepath.Dir(file)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(file)+".tmp*")
	if err != nil {
		return fmt.Errorf("create temporary file for %s: %w", file, err)
	}
	name := tmp.Name()
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(name)
		}
	}()
	if _, err := tmp.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := tmp.Chmod(mode); err != nil {
		return fmt.Errorf("chmod %s: %w", name, err)
	}
	if uid >= 0 && (uid != os.Geteuid() || gid != os.Getegid()) {
		// Keep the owner when we may (as root); else the file is ours.
		_ = tmp.Chown(uid, gid)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", name, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("close %s: %w", name, err)
	}
	if err := os.Rename(name, file); err != nil {
		return fmt.Errorf("rename %s to %s: %w", name, file, err)
	}
	ok = true
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}
