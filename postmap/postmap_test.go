package postmap

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// result is what a user sees of one postmap run.
type result struct {
	out, err string
	status   int
}

// postmap runs the command the way cmd/postern does: messages of errors
// are printed as "postmap: fatal: …", the status comes from the error.
func postmap(t *testing.T, confDir, stdin string, args ...string) result {
	t.Helper()
	cmd := Command()
	var out, errb bytes.Buffer
	cmd.SetIn(strings.NewReader(stdin))
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SetArgs(append([]string{"-c", confDir}, args...))
	status := 0
	if err := cmd.Execute(); err != nil {
		status = 1
		if st, ok := err.(interface{ ExitStatus() int }); ok {
			status = st.ExitStatus()
		}
		if msg := err.Error(); msg != "" {
			fmt.Fprintf(&errb, "postmap: fatal: %s\n", msg)
		}
	}
	return result{out.String(), errb.String(), status}
}

// setup makes a config directory (no main.cf: built-in defaults) and a
// table source in it.
func setup(t *testing.T, src string) (dir, file string) {
	t.Helper()
	dir = t.TempDir()
	file = filepath.Join(dir, "access")
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, file
}

func want(t *testing.T, got result, out, errs string, status int) {
	t.Helper()
	if got.out != out || got.err != errs || got.status != status {
		t.Errorf("got stdout %q stderr %q status %d\nwant stdout %q stderr %q status %d",
			got.out, got.err, got.status, out, errs, status)
	}
}

func TestBuildAndQuery(t *testing.T) {
	dir, file := setup(t, "Example.com REJECT\nlonely\nfirst part\n  continued part\ndup 1\nDUP 2\n")
	r := postmap(t, dir, "", file)
	want(t, r, "", "postmap: warning: "+file+", line 2: expected format: key whitespace value\n"+
		"postmap: warning: "+file+".db: duplicate entry: \"dup\"\n", 0)

	want(t, postmap(t, dir, "", "-q", "EXAMPLE.COM", file), "REJECT\n", "", 0)
	want(t, postmap(t, dir, "", "-q", "first", "hash:"+file), "part  continued part\n", "", 0)
	want(t, postmap(t, dir, "", "-q", "dup", file), "1\n", "", 0)
	want(t, postmap(t, dir, "", "-q", "nobody", file), "", "", 1)
	// Every compiled type reads the same FILE.db.
	for _, typ := range []string{"btree", "cdb", "lmdb", "dbm"} {
		want(t, postmap(t, dir, "", "-q", "example.com", typ+":"+file), "REJECT\n", "", 0)
	}
}

func TestErrors(t *testing.T) {
	dir, file := setup(t, "a b\n")
	missing := filepath.Join(dir, "missing")
	want(t, postmap(t, dir, "", missing), "", "postmap: fatal: open "+missing+": no such file or directory\n", 1)
	want(t, postmap(t, dir, "", "foo:"+file), "", "postmap: fatal: unsupported dictionary type: foo\n", 1)
	want(t, postmap(t, dir, "", "regexp:"+file), "", "postmap: fatal: unsupported map type for this operation: regexp\n", 1)
	want(t, postmap(t, dir, "", "-q", "a", missing), "",
		"postmap: fatal: open database "+missing+".db: no such file or directory\n", 2)
	want(t, postmap(t, dir, "", "-q", "a", "fail:x"), "",
		"postmap: fatal: table fail:x: lookup \"a\": table lookup failed (fail: table)\n", 2)
	want(t, postmap(t, dir, "", "-q", "a", "-s", file), "", "postmap: fatal: specify only one of -s -q or -d\n", 1)
	want(t, postmap(t, dir, ""), "", "postmap: fatal: "+usageText+"\n", 1)
	want(t, postmap(t, dir, "", "-h", "-q", "-", file), "", "postmap: fatal: option -h (message header queries) is not supported\n", 1)
	want(t, postmap(t, dir, "", "-s", "static:x"), "", "postmap: fatal: table static:x: sequence operation is not supported\n", 1)
	want(t, postmap(t, dir, "", "-d", "a", "inline:{a=b}"), "", "postmap: fatal: table inline:{a=b}: delete operation is not supported\n", 1)
}

func TestQueryStdin(t *testing.T) {
	dir, file := setup(t, "a 1\nb 2\n")
	postmap(t, dir, "", file)
	want(t, postmap(t, dir, "A\nnone\nb\n", "-q", "-", file, "inline:{none=from-inline}"),
		"A\t1\nnone\tfrom-inline\nb\t2\n", "", 0)
	want(t, postmap(t, dir, "x\ny\n", "-q", "-", file), "", "", 1)
}

func TestQueryOtherTypes(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	re := write("checks", "/^Subject: (.*)/ WARN $1\n")
	cidr := write("clients", "192.0.2.0/24 REJECT\n")
	th := write("th", "Key Value\n")
	tests := []struct{ key, spec, out string }{
		{"Subject: hello", "regexp:" + re, "WARN hello\n"},
		{"Subject: hello", "pcre:" + re, "WARN hello\n"},
		{"192.0.2.7", "cidr:" + cidr, "REJECT\n"},
		{"KEY", "texthash:" + th, "Value\n"},
		{"k2", "inline:{k1=v1, {k2 = v w}}", "v w\n"},
		{"anything", "static:{a b}", "a b\n"},
		{"x", "unionmap:{inline:{x=1}, static:2}", "1,2\n"},
		{"x", "pipemap:{inline:{x=y}, inline:{y=z}}", "z\n"},
	}
	for _, tc := range tests {
		want(t, postmap(t, dir, "", "-q", tc.key, tc.spec), tc.out, "", 0)
	}
}

func TestDeleteAndIncremental(t *testing.T) {
	dir, file := setup(t, "a 1\nb 2\n")
	postmap(t, dir, "", file)
	want(t, postmap(t, dir, "", "-d", "A", file), "", "", 0)
	want(t, postmap(t, dir, "", "-d", "a", file), "", "", 1)
	want(t, postmap(t, dir, "", "-q", "a", file), "", "", 1)

	want(t, postmap(t, dir, "c 3\nb changed\n", "-i", file), "",
		"postmap: warning: "+file+".db: duplicate entry: \"b\"\n", 0)
	want(t, postmap(t, dir, "", "-q", "c", file), "3\n", "", 0)
	want(t, postmap(t, dir, "", "-q", "b", file), "2\n", "", 0)
	want(t, postmap(t, dir, "b replaced\n", "-i", "-r", file), "", "", 0)
	want(t, postmap(t, dir, "", "-q", "b", file), "replaced\n", "", 0)

	want(t, postmap(t, dir, "b\nc\nzz\n", "-d", "-", file), "", "", 0)
	want(t, postmap(t, dir, "", "-s", file), "", "", 0)

	missing := filepath.Join(dir, "none")
	want(t, postmap(t, dir, "", "-d", "a", missing), "",
		"postmap: fatal: open database "+missing+".db: no such file or directory\n", 1)
}

func TestFoldAndDuplicates(t *testing.T) {
	dir, file := setup(t, "MiXed 1\nOther 2\nMiXed 3\n")
	want(t, postmap(t, dir, "", "-f", "-w", file), "", "", 0)
	want(t, postmap(t, dir, "", "-f", "-q", "MiXed", file), "1\n", "", 0)
	want(t, postmap(t, dir, "", "-q", "MiXed", file), "", "", 1) // folded query misses
	want(t, postmap(t, dir, "", "-r", file), "", "", 0)
	want(t, postmap(t, dir, "", "-q", "MIXED", file), "3\n", "", 0)
}

func TestDefaultTypeFromMainCF(t *testing.T) {
	dir, file := setup(t, "a 1\n")
	if err := os.WriteFile(filepath.Join(dir, "main.cf"), []byte("default_database_type = cdb\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	want(t, postmap(t, dir, "", file), "", "", 0)
	if _, err := os.Stat(file + ".db"); err != nil {
		t.Errorf("cdb table not written to FILE.db: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "main.cf"), []byte("default_database_type = nosuch\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	want(t, postmap(t, dir, "", file), "", "postmap: fatal: unsupported dictionary type: nosuch\n", 1)
}

func TestModeAndOwner(t *testing.T) {
	dir, file := setup(t, "a 1\n")
	if err := os.Chmod(file, 0o640); err != nil {
		t.Fatal(err)
	}
	postmap(t, dir, "", file)
	if m := mode(t, file+".db"); m != 0o640 {
		t.Errorf("mode %o, want 640 (the source's read bits)", m)
	}
	postmap(t, dir, "", "-p", file)
	if m := mode(t, file+".db"); m != 0o644 {
		t.Errorf("-p: mode %o, want 644", m)
	}
	if os.Geteuid() != 0 {
		t.Skip("ownership needs root")
	}
	if err := os.Chown(file, 4321, 4322); err != nil {
		t.Fatal(err)
	}
	postmap(t, dir, "", file)
	if uid, gid := owner(t, file+".db"); uid != 4321 || gid != 4322 {
		t.Errorf("owner %d:%d, want the source's 4321:4322", uid, gid)
	}
	// With -o a new table is root's; a rebuilt one keeps its owner, as
	// when Postfix truncates the existing file.
	postmap(t, dir, "", "-o", file)
	if uid, _ := owner(t, file+".db"); uid != 4321 {
		t.Errorf("-o over an existing table: owner %d, want it kept (4321)", uid)
	}
	os.Remove(file + ".db")
	postmap(t, dir, "", "-o", file)
	if uid, _ := owner(t, file+".db"); uid != 0 {
		t.Errorf("-o: owner %d, want root", uid)
	}
}

func mode(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

func owner(t *testing.T, path string) (int, int) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	return int(st.Uid), int(st.Gid)
}

// TestGoldenSession replays a typical administrator session and compares
// everything printed with testdata/session.golden (go test -update
// rewrites it).
func TestGoldenSession(t *testing.T) {
	dir, file := setup(t, `# virtual aliases
postmaster@example.com   admin
"odd key"@example.com    odd
info@example.com         sales,
    support
bad-line
@example.com             catchall
info@example.com         duplicate
`)
	var log strings.Builder
	step := func(stdin string, args ...string) {
		r := postmap(t, dir, stdin, args...)
		fmt.Fprintf(&log, "$ postmap %s\n%s%s[exit %d]\n", strings.Join(args, " "), r.out, r.err, r.status)
	}
	step("", file)
	step("", "-s", file)
	step("", "-q", "INFO@example.com", file)
	step("Postmaster@Example.com\nnobody@example.com\n@example.com\n", "-q", "-", file)
	step("", "-d", "@example.com", file)
	step("new@example.com new\n", "-i", file)
	step("", "-s", file)
	got := strings.ReplaceAll(log.String(), dir, "DIR")
	golden := filepath.Join("testdata", "session.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	w, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(w) {
		t.Errorf("session differs from %s:\n%s", golden, got)
	}
}

func TestKeyTooLong(t *testing.T) {
	dir, file := setup(t, "a 1\n"+strings.Repeat("k", 40000)+" v\n")
	want(t, postmap(t, dir, "", file), "", "postmap: fatal: "+file+", line 2: key longer than 32768 bytes\n", 1)
	if _, err := os.Stat(file + ".db"); !os.IsNotExist(err) {
		t.Errorf("a failed build left %s.db: %v", file, err)
	}
}

func TestStaleTempRemoved(t *testing.T) {
	dir, file := setup(t, "a 1\n")
	stale := filepath.Join(dir, ".access.db.tmp12345")
	if err := os.WriteFile(stale, []byte("left by a killed postmap"), 0o600); err != nil {
		t.Fatal(err)
	}
	want(t, postmap(t, dir, "", file), "", "", 0)
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("stale temporary file still there: %v", err)
	}
}
