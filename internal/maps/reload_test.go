package maps

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// eventually polls lookup until it returns want, failing after the
// deadline a daemon must meet ("within a couple of seconds").
func eventually(t *testing.T, tab Table, key, want string) time.Duration {
	t.Helper()
	start := time.Now()
	deadline := start.Add(3 * time.Second)
	for {
		v, _, err := tab.Lookup(t.Context(), key)
		if err == nil && v == want {
			return time.Since(start)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %q is still %q (err %v), want %q", tab.Name(), key, v, err, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestReloadRebuiltDB(t *testing.T) {
	name := filepath.Join(t.TempDir(), "access")
	build(t, name, BuildOptions{FoldCase: true}, "example.com", "OK")
	tab, err := Open("hash:"+name, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, tab, "example.com", "OK")
	build(t, name, BuildOptions{FoldCase: true}, "example.com", "REJECT")
	d := eventually(t, tab, "example.com", "REJECT")
	t.Logf("rebuilt .db seen after %v", d)
}

func TestReloadEditedRegexp(t *testing.T) {
	path := filepath.Join(t.TempDir(), "checks")
	if err := os.WriteFile(path, []byte("/^subject:/ WARN first\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var warns []string
	tab, err := Open("regexp:"+path, Options{Warn: func(m string) { warns = append(warns, m) }})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, tab, "Subject: x", "WARN first")
	// Edit in place, as an editor without backup files does.
	if err := os.WriteFile(path, []byte("/^subject:/ REJECT second\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	d := eventually(t, tab, "Subject: x", "REJECT second")
	t.Logf("edited regexp seen after %v", d)

	// A file that no longer loads keeps the last good version, and says so.
	var big strings.Builder
	big.WriteString("/^subject:/ THIRD\n")
	big.WriteString("k " + strings.Repeat("x", MaxLineLength+1) + "\n")
	if err := os.WriteFile(path, []byte(big.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(3 * time.Second)
	for len(warns) == 0 {
		if _, _, err := tab.Lookup(t.Context(), "Subject: x"); err != nil {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatal("no warning about a table that does not load")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if v, _ := mustLookup(t, tab, "Subject: x"); v != "REJECT second" {
		t.Errorf("after a bad edit: %q, want the last good version", v)
	}
	if !strings.Contains(warns[0], "reload") || !strings.Contains(warns[0], "line too long") {
		t.Errorf("warning %q", warns[0])
	}
}

func TestReloadWithoutWatcher(t *testing.T) {
	// The stat check alone (no fsnotify event) must find the change.
	path := filepath.Join(t.TempDir(), "th")
	os.WriteFile(path, []byte("k one\n"), 0o644)
	tab, err := Open("texthash:"+path, Options{NoReload: true}) // not watched
	if err != nil {
		t.Fatal(err)
	}
	tab.(*textHash).r.static = false // but checked
	os.WriteFile(path, []byte("k two-longer\n"), 0o644)
	// The check is due one interval after the load at the latest.
	d := eventually(t, tab, "k", "two-longer")
	if d > checkInterval+time.Second {
		t.Errorf("took %v", d)
	}
}
