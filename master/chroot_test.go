package master

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// newJail is a jail in a temporary queue directory, with originals in a
// directory of the test's own; ownership is left alone, so the test runs
// as any user.
func newJail(t *testing.T) (*jail, string) {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Join(dir, "sysetc")
	if err := os.Mkdir(src, 0o755); err != nil {
		t.Fatal(err)
	}
	q := filepath.Join(dir, "var", "spool", "postern")
	if err := os.MkdirAll(q, 0o755); err != nil {
		t.Fatal(err)
	}
	return &jail{root: q, src: src, uid: -1, gid: -1}, src
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestJailPrepare(t *testing.T) {
	j, src := newJail(t)
	write(t, filepath.Join(src, "hosts"), "127.0.0.1 localhost\n")
	write(t, filepath.Join(src, "resolv.conf"), "nameserver 192.0.2.53\n")
	write(t, filepath.Join(src, "zone"), "TZif2 pretend")
	// /etc/localtime is usually a link into /usr/share/zoneinfo: the jail
	// gets the content.
	if err := os.Symlink(filepath.Join(src, "zone"), filepath.Join(src, "localtime")); err != nil {
		t.Fatal(err)
	}
	if err := j.prepare(); err != nil {
		t.Fatal(err)
	}
	etc := filepath.Join(j.root, "etc")
	for name, want := range map[string]string{"hosts": "127.0.0.1 localhost\n", "resolv.conf": "nameserver 192.0.2.53\n", "localtime": "TZif2 pretend"} {
		p := filepath.Join(etc, name)
		fi, err := os.Lstat(p)
		if err != nil {
			t.Fatalf("%s not copied: %v", name, err)
		}
		if !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o644 {
			t.Errorf("%s: mode %v, want a regular file 0644", name, fi.Mode())
		}
		if got, _ := os.ReadFile(p); string(got) != want {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}
	for _, name := range []string{"services", "nsswitch.conf", "host.conf", "hosts.new"} {
		if _, err := os.Lstat(filepath.Join(etc, name)); err == nil {
			t.Errorf("%s in the jail without an original", name)
		}
	}
	if fi, err := os.Stat(etc); err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("etc/: %v %v, want mode 0755", fi.Mode(), err)
	}
	// Inside the jail, the queue directory's own path leads to its root.
	rel := strings.TrimPrefix(j.root, "/")
	link := filepath.Join(j.root, rel)
	target, err := os.Readlink(link)
	if err != nil {
		t.Fatalf("no link to the jail's root: %v", err)
	}
	if filepath.IsAbs(target) {
		t.Errorf("link target %s is absolute", target)
	}
	if got := filepath.Clean(filepath.Join(filepath.Dir(link), target)); got != j.root {
		t.Errorf("%s -> %s resolves to %s, want %s", link, target, got, j.root)
	}
	if fi, err := os.Stat(filepath.Join(link, "etc", "hosts")); err != nil || !fi.Mode().IsRegular() {
		t.Errorf("etc/hosts through the link: %v", err)
	}

	// A refresh: changed originals are copied again, gone ones removed,
	// the link is kept.
	write(t, filepath.Join(src, "hosts"), "192.0.2.1 mx\n")
	os.Remove(filepath.Join(src, "resolv.conf"))
	if err := j.prepare(); err != nil {
		t.Fatalf("second prepare: %v", err)
	}
	if got, _ := os.ReadFile(filepath.Join(etc, "hosts")); string(got) != "192.0.2.1 mx\n" {
		t.Errorf("hosts not refreshed: %q", got)
	}
	if _, err := os.Lstat(filepath.Join(etc, "resolv.conf")); err == nil {
		t.Error("resolv.conf copy kept after the original went away")
	}
}

// Master never writes through a link and never takes over what it did
// not make.
func TestJailRefusesStrangers(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, j *jail, link string)
		want  string
	}{
		{"file at the link", func(t *testing.T, j *jail, link string) {
			os.MkdirAll(filepath.Dir(link), 0o755)
			write(t, link, "x")
		}, "is not a symbolic link to ../.."},
		{"wrong link", func(t *testing.T, j *jail, link string) {
			os.MkdirAll(filepath.Dir(link), 0o755)
			os.Symlink("/", link)
		}, "links to /, not to ../.."},
		{"etc is a link", func(t *testing.T, j *jail, link string) {
			os.Symlink(t.TempDir(), filepath.Join(j.root, "etc"))
		}, "etc exists and is not a directory"},
		{"path is a link", func(t *testing.T, j *jail, link string) {
			first := strings.Split(strings.TrimPrefix(j.root, "/"), "/")[0]
			os.Symlink(t.TempDir(), filepath.Join(j.root, first))
		}, "exists and is not a directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j, _ := newJail(t)
			link := filepath.Join(j.root, strings.TrimPrefix(j.root, "/"))
			tt.setup(t, j, link)
			err := j.prepare()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("prepare: %v, want an error containing %q", err, tt.want)
			}
		})
	}
	if os.Geteuid() == 0 {
		j, _ := newJail(t)
		j.uid, j.gid = 0, 0
		etc := filepath.Join(j.root, "etc")
		os.Mkdir(etc, 0o755)
		os.Chown(etc, 65534, 65534)
		if err := j.prepare(); err == nil || !strings.Contains(err.Error(), "belongs to uid 65534, not root") {
			t.Errorf("prepare with etc/ of another user: %v", err)
		}
	}
	j := &jail{root: "spool", uid: -1, gid: -1}
	if err := j.prepare(); err == nil || !strings.Contains(err.Error(), "not an absolute path") {
		t.Errorf("relative queue directory: %v", err)
	}
}

func TestJailFileLimit(t *testing.T) {
	defer func(old int) { maxJailFile = old }(maxJailFile)
	maxJailFile = 1 << 20
	j, src := newJail(t)
	f, err := os.Create(filepath.Join(src, "hosts"))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(int64(maxJailFile) + 1); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := j.prepare(); err == nil || !strings.Contains(err.Error(), "larger than 1 MB") {
		t.Errorf("prepare with a huge hosts file: %v", err)
	}
}
