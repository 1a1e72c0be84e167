package maps

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A daemon that opens a table nobody built yet keeps running: lookups fail
// temporarily, then work once the table is built.
func TestMissingTableBecomesAvailable(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "aliases")
	var warned []string
	opt := DefaultOptions()
	opt.Warn = func(m string) { warned = append(warned, m) }
	tab, err := Open("hash:"+src, opt)
	if err != nil {
		t.Fatalf("Open of a missing table: %v", err)
	}
	if len(warned) == 0 {
		t.Error("no warning about the missing table")
	}
	if _, _, err := tab.Lookup(context.Background(), "x"); err == nil {
		t.Fatal("lookup in a missing table did not fail temporarily")
	}
	b, err := Create(DBPath(src), BuildOptions{FoldCase: true})
	if err != nil {
		t.Fatal(err)
	}
	b.Add("x", "y")
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		v, found, err := tab.Lookup(context.Background(), "x")
		if err == nil && found && v == "y" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("table still unavailable after it was built: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, err := Open("nosuch:"+src, opt); err == nil {
		t.Error("unknown type accepted")
	}
	os.Remove(src)
}
