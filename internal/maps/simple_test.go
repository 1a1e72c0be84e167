package maps

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestTypes(t *testing.T) {
	want := []string{"btree", "cdb", "cidr", "dbm", "environ", "fail", "hash", "inline", "lmdb",
		"pcre", "pipemap", "proxy", "regexp", "static", "texthash", "unionmap", "unix"}
	if got := Types(); !reflect.DeepEqual(got, want) {
		t.Errorf("Types() = %q\nwant %q", got, want)
	}
}

func TestInlineStaticFailEnviron(t *testing.T) {
	opt := Options{FoldCase: true, NoReload: true}
	in, err := Open("inline:{ Key1=v1, {key2 = value with spaces, and comma}, key1=dup }", opt)
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{"key1": "v1", "KEY2": "value with spaces, and comma"} {
		if v, ok := mustLookup(t, in, k); !ok || v != want {
			t.Errorf("inline %q = %q, %v; want %q", k, v, ok, want)
		}
	}
	if got := dump(t, in); len(got) != 2 {
		t.Errorf("inline walk: %v", got)
	}

	st, _ := Open("static:{ relay:[mx.example] }", opt)
	if v, ok := mustLookup(t, st, "anything"); !ok || v != "relay:[mx.example]" {
		t.Errorf("static = %q, %v", v, ok)
	}
	st2, _ := Open("static:OK", opt)
	if v, _ := mustLookup(t, st2, "x"); v != "OK" {
		t.Errorf("static:OK = %q", v)
	}

	fl, _ := Open("fail:test", opt)
	_, found, err := fl.Lookup(t.Context(), "x")
	if found || !errors.Is(err, ErrFail) {
		t.Errorf("fail: found=%v err=%v", found, err)
	}

	t.Setenv("POSTERN_MAPS_TEST", "yes")
	env, _ := Open("environ:", opt)
	if v, ok := mustLookup(t, env, "POSTERN_MAPS_TEST"); !ok || v != "yes" {
		t.Errorf("environ = %q, %v", v, ok)
	}
	if _, ok := env.(Walker); !ok {
		t.Error("environ is not a Walker")
	}
}

func TestProxyPrefix(t *testing.T) {
	tab, err := Open("proxy:inline:{a=b}", Options{NoReload: true})
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := mustLookup(t, tab, "a"); v != "b" {
		t.Errorf("proxy:inline a = %q", v)
	}
}

func TestUnixTable(t *testing.T) {
	dir := t.TempDir()
	oldP, oldG := passwdFile, groupFile
	t.Cleanup(func() { passwdFile, groupFile = oldP, oldG })
	passwdFile = filepath.Join(dir, "passwd")
	groupFile = filepath.Join(dir, "group")
	os.WriteFile(passwdFile, []byte("root:x:0:0:root:/root:/bin/bash\n# c\n+nis\nbob:x:1000:1000:Bob,,,:/home/bob:/bin/sh\nbob:x:1:1::/:/bin/false\n"), 0o644)
	os.WriteFile(groupFile, []byte("mail:x:8:bob,alice\n"), 0o644)
	opt := Options{FoldCase: true, NoReload: true}
	pw, err := Open("unix:passwd.byname", opt)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := mustLookup(t, pw, "BOB"); v != "bob:x:1000:1000:Bob,,,:/home/bob:/bin/sh" {
		t.Errorf("bob = %q", v)
	}
	if _, ok := mustLookup(t, pw, "+nis"); ok {
		t.Error("NIS line found")
	}
	gr, _ := Open("unix:group.byname", opt)
	if v, _ := mustLookup(t, gr, "mail"); v != "mail:x:8:bob,alice" {
		t.Errorf("mail group = %q", v)
	}
}

func TestUnionPipeMaps(t *testing.T) {
	opt := Options{NoReload: true}
	u, err := Open("unionmap:{inline:{a=1, b=2}, inline:{a=3}, static:{s}}", opt)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := mustLookup(t, u, "a"); v != "1,3,s" {
		t.Errorf("unionmap a = %q", v)
	}
	p, err := Open("pipemap:{inline:{a=b}, inline:{b=c}}", opt)
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := mustLookup(t, p, "a"); !ok || v != "c" {
		t.Errorf("pipemap a = %q, %v", v, ok)
	}
	if _, ok := mustLookup(t, p, "b"); ok {
		t.Error("pipemap b found")
	}
	uf, _ := Open("unionmap:{inline:{a=1}, fail:x}", opt)
	if _, _, err := uf.Lookup(t.Context(), "a"); !errors.Is(err, ErrFail) {
		t.Errorf("unionmap with fail: %v", err)
	}
}

func TestTextHash(t *testing.T) {
	path := filepath.Join(t.TempDir(), "th")
	os.WriteFile(path, []byte("Alpha 1\nbeta  two words\nalpha dup\n"), 0o644)
	var warns []string
	tab, err := Open("texthash:"+path, Options{FoldCase: true, NoReload: true, Warn: func(m string) { warns = append(warns, m) }})
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := mustLookup(t, tab, "ALPHA"); v != "1" {
		t.Errorf("alpha = %q", v)
	}
	var keys []string
	_ = tab.(Walker).Walk(t.Context(), func(k, _ string) error { keys = append(keys, k); return nil })
	if !slices.Equal(keys, []string{"alpha", "beta"}) {
		t.Errorf("walk order %q", keys)
	}
	if len(warns) != 1 || !strings.HasSuffix(warns[0], `line 3: duplicate entry: "alpha"`) {
		t.Errorf("warnings %q", warns)
	}
}

func TestOpenList(t *testing.T) {
	l, err := OpenList([]string{"inline:{a=1}, inline:{a=2, b=2}", "static:last"}, Options{NoReload: true})
	if err != nil {
		t.Fatal(err)
	}
	if l.Len() != 3 || l.Name() != "inline:{a=1}, inline:{a=2, b=2}, static:last" {
		t.Errorf("list %d %q", l.Len(), l.Name())
	}
	for k, want := range map[string]string{"a": "1", "b": "2", "z": "last"} {
		if v, _ := mustLookup(t, l, k); v != want {
			t.Errorf("%s = %q, want %q", k, v, want)
		}
	}
	if l.IsPattern() {
		t.Error("list of fixed tables is a pattern table")
	}
	empty, _ := OpenList(nil, Options{})
	if _, ok := mustLookup(t, empty, "a"); ok || empty.IsPattern() {
		t.Error("empty list found something")
	}
}

func TestOpenCaches(t *testing.T) {
	a, _ := Open("inline:{x=1}", DefaultOptions())
	b, _ := Open(" inline:{x=1} ", DefaultOptions())
	c, _ := Open("inline:{x=1}", Options{})
	if a != b {
		t.Error("same spec opened twice")
	}
	if a == c {
		t.Error("different folding shares a table")
	}
}
