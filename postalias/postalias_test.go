package postalias

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/postern-mta/postern/internal/maps"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

type result struct {
	out, err string
	status   int
}

// execute runs a command the way cmd/postern does.
func execute(t *testing.T, cmd *cobra.Command, confDir, stdin string, args ...string) result {
	t.Helper()
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
			fmt.Fprintf(&errb, "%s: fatal: %s\n", cmd.Name(), msg)
		}
	}
	return result{out.String(), errb.String(), status}
}

func postalias(t *testing.T, dir, stdin string, args ...string) result {
	t.Helper()
	return execute(t, Command(), dir, stdin, args...)
}

func want(t *testing.T, got result, out, errs string, status int) {
	t.Helper()
	if got.out != out || got.err != errs || got.status != status {
		t.Errorf("got stdout %q stderr %q status %d\nwant stdout %q stderr %q status %d",
			got.out, got.err, got.status, out, errs, status)
	}
}

const aliasesSrc = `# /etc/aliases
postmaster: root
Root:   alice,
	bob ,carol
"list owner": "|/usr/bin/procmail -a x, y", /var/log/list
list: :include:/etc/postern/list.txt
no-colon here
user@example.com: x
root: again
`

func setup(t *testing.T) (dir, file string) {
	t.Helper()
	dir = t.TempDir()
	file = filepath.Join(dir, "aliases")
	if err := os.WriteFile(file, []byte(aliasesSrc), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, file
}

func TestBuildAndQuery(t *testing.T) {
	dir, file := setup(t)
	want(t, postalias(t, dir, "", file), "",
		"postalias: warning: "+file+", line 7: need name:value pair\n"+
			"postalias: warning: "+file+", line 8: name must be local\n"+
			"postalias: warning: "+file+".db: duplicate entry: \"root\"\n", 0)
	want(t, postalias(t, dir, "", "-q", "ROOT", file), "alice, bob, carol\n", "", 0)
	want(t, postalias(t, dir, "", "-q", "list owner", file), "\"|/usr/bin/procmail -a x, y\", /var/log/list\n", "", 0)
	want(t, postalias(t, dir, "", "-q", "@", file), "@\n", "", 0)
	want(t, postalias(t, dir, "", "-q", "nobody", file), "", "", 1)
	want(t, postalias(t, dir, "root\nnobody\npostmaster\n", "-q", "-", file),
		"root:\talice, bob, carol\npostmaster:\troot\n", "", 0)

	// What local will do with the stored value.
	tab, err := maps.Open("hash:"+file, maps.Options{FoldCase: true, NoReload: true})
	if err != nil {
		t.Fatal(err)
	}
	v, _, _ := tab.Lookup(t.Context(), "list owner")
	targets, err := maps.ParseAliasValue(v)
	if err != nil || len(targets) != 2 || targets[0].Kind != maps.AliasCommand ||
		targets[0].Value != "/usr/bin/procmail -a x, y" || targets[1].Kind != maps.AliasFile {
		t.Errorf("targets %+v, err %v", targets, err)
	}
}

func TestDeleteIncrementalFold(t *testing.T) {
	dir, file := setup(t)
	postalias(t, dir, "", "-w", file)
	want(t, postalias(t, dir, "", "-d", "list", file), "", "", 0)
	want(t, postalias(t, dir, "", "-d", "list", file), "", "", 1)
	want(t, postalias(t, dir, "New: fresh\n", "-i", file), "", "", 0)
	want(t, postalias(t, dir, "", "-q", "new", file), "fresh\n", "", 0)
	want(t, postalias(t, dir, "", "-q", "@", file), "@\n", "", 0)

	// With -f, Root and root are two names: no duplicate.
	want(t, postalias(t, dir, "", "-f", file), "",
		"postalias: warning: "+file+", line 7: need name:value pair\n"+
			"postalias: warning: "+file+", line 8: name must be local\n", 0)
	want(t, postalias(t, dir, "", "-f", "-q", "Root", file), "alice, bob, carol\n", "", 0)
}

// TestNewaliases builds every alias_database table; non-buildable types
// in the list are skipped.
func TestNewaliases(t *testing.T) {
	dir, file := setup(t)
	other := filepath.Join(dir, "more")
	os.WriteFile(other, []byte("extra: someone\n"), 0o644)
	mainCF := fmt.Sprintf("alias_database = hash:%s, btree:%s nis:mail.aliases\n", file, other)
	if err := os.WriteFile(filepath.Join(dir, "main.cf"), []byte(mainCF), 0o644); err != nil {
		t.Fatal(err)
	}
	r := execute(t, NewaliasesCommand(), dir, "")
	if r.status != 0 || strings.Contains(r.err, "fatal") {
		t.Fatalf("newaliases: %+v", r)
	}
	want(t, postalias(t, dir, "", "-q", "extra"), "someone\n", "", 0) // no file: alias_database
	want(t, postalias(t, dir, "", "-q", "postmaster", "hash:"+file), "root\n", "", 0)

	os.Remove(other)
	r = execute(t, NewaliasesCommand(), dir, "")
	if fatal := "newaliases: fatal: open " + other + ": no such file or directory\n"; r.status != 1 || !strings.HasSuffix(r.err, fatal) {
		t.Errorf("newaliases without a source: %+v", r)
	}
}

func TestErrors(t *testing.T) {
	dir, file := setup(t)
	want(t, postalias(t, dir, "", "-q", "x", "-d", "y", file), "", "postalias: fatal: specify only one of -s -q or -d\n", 1)
	want(t, postalias(t, dir, "", "foo:"+file), "", "postalias: fatal: unsupported dictionary type: foo\n", 1)
	want(t, postalias(t, dir, "", "texthash:"+file), "", "postalias: fatal: unsupported map type for this operation: texthash\n", 1)
	want(t, postalias(t, dir, "", "-q", "x", file+"-missing"), "",
		"postalias: fatal: open database "+file+"-missing.db: no such file or directory\n", 2)
}

func TestGoldenDump(t *testing.T) {
	dir, file := setup(t)
	postalias(t, dir, "", file)
	r := postalias(t, dir, "", "-s", file)
	got := r.out
	golden := filepath.Join("testdata", "aliases.golden")
	if *update {
		os.MkdirAll("testdata", 0o755)
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	w, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(w) {
		t.Errorf("postalias -s differs from %s:\n%s", golden, got)
	}
}
