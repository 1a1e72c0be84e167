package maps

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// build compiles entries (key, value, key, value, …) into dir/name.db.
func build(t *testing.T, name string, opt BuildOptions, kv ...string) string {
	t.Helper()
	b, err := Create(DBPath(name), opt)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if err := b.Add(kv[i], kv[i+1]); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	return name
}

func dump(t *testing.T, tab Table) map[string]string {
	t.Helper()
	m := map[string]string{}
	err := tab.(Walker).Walk(context.Background(), func(k, v string) error {
		m[k] = v
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func mustLookup(t *testing.T, tab Table, key string) (string, bool) {
	t.Helper()
	v, ok, err := tab.Lookup(context.Background(), key)
	if err != nil {
		t.Fatalf("lookup %q: %v", key, err)
	}
	return v, ok
}

func TestBuildAndLookup(t *testing.T) {
	name := filepath.Join(t.TempDir(), "access")
	build(t, name, BuildOptions{FoldCase: true}, "Example.COM", "REJECT", "user@x.test", "OK")
	for _, typ := range compiledTypes {
		tab, err := Open(typ+":"+name, Options{FoldCase: true, NoReload: true})
		if err != nil {
			t.Fatal(err)
		}
		if v, ok := mustLookup(t, tab, "EXAMPLE.com"); !ok || v != "REJECT" {
			t.Errorf("%s: lookup = %q, %v; want REJECT", typ, v, ok)
		}
		if _, ok := mustLookup(t, tab, "nobody"); ok {
			t.Errorf("%s: nobody found", typ)
		}
		if got := tab.(Source).SourceFile(); got != name+".db" {
			t.Errorf("SourceFile = %q", got)
		}
	}
	want := map[string]string{"example.com": "REJECT", "user@x.test": "OK"}
	tab, _ := Open("hash:"+name, Options{NoReload: true})
	if got := dump(t, tab); !reflect.DeepEqual(got, want) {
		t.Errorf("dump = %v, want %v", got, want)
	}
}

func TestBuildNoFold(t *testing.T) {
	name := filepath.Join(t.TempDir(), "t")
	build(t, name, BuildOptions{}, "MiXed", "1")
	folded, _ := Open("hash:"+name, Options{FoldCase: true, NoReload: true})
	exact, _ := Open("hash:"+name, Options{NoReload: true})
	if _, ok := mustLookup(t, folded, "MiXed"); ok {
		t.Error("folding query found a key built with -f")
	}
	if _, ok := mustLookup(t, exact, "MiXed"); !ok {
		t.Error("exact query did not find MiXed")
	}
}

func TestBuildDuplicates(t *testing.T) {
	for _, tc := range []struct {
		mode  DupMode
		want  string
		warns []string
	}{
		{DupWarn, "first", []string{`NAME.db: duplicate entry: "dup"`, `NAME.db: duplicate entry: "dup"`}},
		{DupIgnore, "first", nil},
		{DupReplace, "third", nil},
	} {
		name := filepath.Join(t.TempDir(), "t")
		var warns []string
		opt := BuildOptions{FoldCase: true, Dup: tc.mode, Warn: func(m string) {
			warns = append(warns, strings.ReplaceAll(m, name, "NAME"))
		}}
		build(t, name, opt, "dup", "first", "other", "x", "DUP", "second", "dup", "third")
		tab, _ := Open("hash:"+name, Options{FoldCase: true, NoReload: true})
		if v, _ := mustLookup(t, tab, "dup"); v != tc.want {
			t.Errorf("mode %d: dup = %q, want %q", tc.mode, v, tc.want)
		}
		if !reflect.DeepEqual(warns, tc.warns) {
			t.Errorf("mode %d: warnings %q, want %q", tc.mode, warns, tc.warns)
		}
	}
}

func TestBuildManyChunks(t *testing.T) {
	// More than one chunk, with a duplicate across chunks.
	name := filepath.Join(t.TempDir(), "big")
	b, err := Create(DBPath(name), BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n := chunkSize + 10
	for i := range n {
		if err := b.Add(key(i), "v"); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Add(key(3), "late"); err != nil {
		t.Fatal(err)
	}
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	tab, _ := Open("hash:"+name, Options{NoReload: true})
	if got := len(dump(t, tab)); got != n {
		t.Errorf("%d entries, want %d", got, n)
	}
	if v, _ := mustLookup(t, tab, key(3)); v != "v" {
		t.Errorf("duplicate across chunks: %q, want first value", v)
	}
}

func key(i int) string { return "k" + strings.Repeat("0", 7-len(itoa(i))) + itoa(i) }

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{byte('0' + i%10)}, b...)
	}
	return string(b)
}

func TestUpdateAndDelete(t *testing.T) {
	name := filepath.Join(t.TempDir(), "t")
	build(t, name, BuildOptions{FoldCase: true}, "a", "1", "b", "2")
	var warns []string
	b, err := Update(DBPath(name), BuildOptions{FoldCase: true, Warn: func(m string) { warns = append(warns, m) }})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Add("C", "3"); err != nil {
		t.Fatal(err)
	}
	if err := b.Add("a", "changed"); err != nil { // existing: warn, keep
		t.Fatal(err)
	}
	found, err := b.Delete("B")
	if err != nil || !found {
		t.Fatalf("delete b: %v, %v", found, err)
	}
	if found, _ := b.Delete("nope"); found {
		t.Error("deleted a key that is not there")
	}
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	tab, _ := Open("hash:"+name, Options{NoReload: true})
	want := map[string]string{"a": "1", "c": "3"}
	if got := dump(t, tab); !reflect.DeepEqual(got, want) {
		t.Errorf("after update: %v, want %v", got, want)
	}
	if len(warns) != 1 || !strings.HasSuffix(warns[0], `duplicate entry: "a"`) {
		t.Errorf("warnings %q", warns)
	}
}

func TestUpdateCreatesMissing(t *testing.T) {
	name := filepath.Join(t.TempDir(), "new")
	b, err := Update(DBPath(name), BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Add("k", "v"); err != nil {
		t.Fatal(err)
	}
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	tab, _ := Open("hash:"+name, Options{NoReload: true})
	if v, _ := mustLookup(t, tab, "k"); v != "v" {
		t.Errorf("k = %q", v)
	}
}

func TestAbortLeavesOldTable(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "t")
	build(t, name, BuildOptions{}, "a", "1")
	b, err := Create(DBPath(name), BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_ = b.Add("b", "2")
	b.Abort()
	tab, _ := Open("hash:"+name, Options{NoReload: true})
	if got := dump(t, tab); !reflect.DeepEqual(got, map[string]string{"a": "1"}) {
		t.Errorf("after abort: %v", got)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 || ents[0].Name() != "t.db" {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Errorf("files after abort: %v, want only t.db", names)
	}
}

func TestBuildMode(t *testing.T) {
	name := filepath.Join(t.TempDir(), "t")
	build(t, name, BuildOptions{Mode: 0o640}, "a", "1")
	fi, err := os.Stat(DBPath(name))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want 0640", fi.Mode().Perm())
	}
	// An update keeps the mode.
	b, _ := Update(DBPath(name), BuildOptions{})
	_ = b.Add("b", "2")
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	fi, _ = os.Stat(DBPath(name))
	if fi.Mode().Perm() != 0o640 {
		t.Errorf("mode after update %v, want 0640", fi.Mode().Perm())
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk")
	if err := os.WriteFile(junk+".db", []byte(strings.Repeat("not a bbolt file ", 1000)), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ spec, want string }{
		{"hash:" + filepath.Join(dir, "missing"), "open database " + filepath.Join(dir, "missing") + ".db: no such file or directory"},
		{"hash:" + junk, "not a Postern table"},
		{"foo:/x", "unsupported dictionary type: foo"},
		{"noColon", `expecting "type:name" form`},
		{"regexp:" + filepath.Join(dir, "nope"), "no such file or directory"},
		{"unix:shadow.byname", "unknown table: unix:shadow.byname"},
		{"inline:a=b", "bad syntax"},
		{"inline:{a}", `need name=value instead of "a"`},
		{"unionmap:{}", "need at least one table"},
		{"unionmap:{foo:x}", "unsupported dictionary type: foo"},
	}
	for _, tc := range tests {
		// NoReload: a one-shot open reports a missing file at once (a
		// daemon's open gets a table that fails lookups instead; see
		// TestMissingTableBecomesAvailable).
		_, err := Open(tc.spec, Options{FoldCase: true, NoReload: true})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Open(%q) = %v, want error containing %q", tc.spec, err, tc.want)
		}
	}
	_, err := Update(DBPath(junk), BuildOptions{})
	if err == nil || !errors.Is(err, errNotTable) {
		t.Errorf("Update of junk: %v", err)
	}
}

// TestReaderNeverSeesHalfTable rebuilds a table over and over while
// readers look up a key that every version holds with a consistent
// pair of values.
func TestReaderNeverSeesHalfTable(t *testing.T) {
	name := filepath.Join(t.TempDir(), "t")
	write := func(gen string) {
		kv := []string{"gen", gen}
		for i := range 2000 {
			kv = append(kv, key(i), gen)
		}
		build(t, name, BuildOptions{}, kv...)
	}
	write("0")
	tab, err := Open("hash:"+name, Options{})
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				v, ok, err := tab.Lookup(context.Background(), key(1999))
				if err != nil || !ok || v == "" {
					errs <- errors.Join(err, errors.New("lookup failed during rebuild: "+v))
					return
				}
			}
		}()
	}
	for i := 1; i <= 20; i++ {
		write(itoa(i))
	}
	// The readers must end up on the last version.
	deadline := time.Now().Add(5 * time.Second)
	for {
		if v, _ := mustLookup(t, tab, "gen"); v == "20" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("reader never saw generation 20")
		}
		time.Sleep(10 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	select {
	case err := <-errs:
		t.Fatal(err)
	default:
	}
}
