package maps

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// openRules writes src to a file and opens it as typ:FILE, collecting
// warnings with the file name replaced by "F".
func openRules(t *testing.T, typ, src string) (Table, []string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), typ)
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	var warns []string
	opt := Options{NoReload: true, Warn: func(m string) { warns = append(warns, strings.ReplaceAll(m, path, "F")) }}
	tab, err := Open(typ+":"+path, opt)
	if err != nil {
		t.Fatal(err)
	}
	return tab, warns
}

func TestRegexpTable(t *testing.T) {
	src := `# header checks
/^Subject:.*viagra/        REJECT no spam
/^From: (.*)@(example\.com)$/  OK from $2 user ${1} $$5
!/@/                       local
/^CASE@$/i                 exact-case
/^x-longest: (a|ab)(c|bcd)/   $1-$2
if /^To:/
/bob/                      TO-BOB
!/alice/                   NOT-ALICE
endif
if !/^X-/
/^Y-/   Y-HEADER
endif
/^multi.line$/   multi-dotall
/^last/           ok
`
	tab, warns := openRules(t, "regexp", src)
	if len(warns) != 0 {
		t.Errorf("warnings: %q", warns)
	}
	tests := []struct{ key, want string }{
		{"Subject: cheap VIAGRA", "REJECT no spam"},
		{"from: joe@Example.com", "OK from Example.com user joe $5"},
		{"no-at-sign", "local"},
		{"CASE@", "exact-case"},
		{"case@", ""},
		{"x-longest: abcd@x", "a-bcd"}, // POSIX leftmost-longest
		{"To: bob@x", "TO-BOB"},
		{"To: alice@x", ""},
		{"To: carol@x", "NOT-ALICE"},
		{"Y-thing: 1@", "Y-HEADER"},
		{"multi\nline@x", ""},
		{"last@", "ok"},
	}
	for _, tc := range tests {
		v, ok := mustLookup(t, tab, tc.key)
		if tc.want == "" && ok {
			t.Errorf("lookup %q = %q, want not found", tc.key, v)
		}
		if tc.want != "" && v != tc.want {
			t.Errorf("lookup %q = %q, %v; want %q", tc.key, v, ok, tc.want)
		}
	}
	if !IsPattern(tab) {
		t.Error("regexp table is not a pattern table")
	}
}

func TestRegexpDotMatchesNewline(t *testing.T) {
	tab, _ := openRules(t, "regexp", "/^a.b$/ posix\n/^c.d$/m multiline\n")
	if v, _ := mustLookup(t, tab, "a\nb"); v != "posix" {
		t.Errorf("regexp: '.' should match a newline, got %q", v)
	}
	if _, ok := mustLookup(t, tab, "c\nd"); ok {
		t.Error("regexp with m: '.' matched a newline")
	}
	ptab, _ := openRules(t, "pcre", "/^a.b$/ pcre\n/^c.d$/s dotall\n")
	if _, ok := mustLookup(t, ptab, "a\nb"); ok {
		t.Error("pcre: '.' matched a newline without s")
	}
	if v, _ := mustLookup(t, ptab, "c\nd"); v != "dotall" {
		t.Errorf("pcre s: got %q", v)
	}
}

func TestPCREFlags(t *testing.T) {
	src := `/ a \s+ b # comment
   /x  extended
/b+/U  [$0]
/cd/A  anchored
/[[:digit:]]{3}/  three-digits
`
	tab, warns := openRules(t, "pcre", src)
	if len(warns) != 0 {
		t.Errorf("warnings: %q", warns)
	}
	for _, tc := range []struct{ key, want string }{
		{"xa   b", "extended"},
		{"abbb", "[b]"},
		{"cd", "anchored"},
		{"xcd", ""},
		{"12x345", "three-digits"},
	} {
		v, ok := mustLookup(t, tab, tc.key)
		if v != tc.want || ok != (tc.want != "") {
			t.Errorf("lookup %q = %q, %v; want %q", tc.key, v, ok, tc.want)
		}
	}
}

func TestRegexpWarnings(t *testing.T) {
	src := `/ok/ fine
/(?=lookahead)/ x
/(a)\1/ backref
/unclosed   x
/a/q  badflag
/(b)/ $2
!/(c)/ $1
/basic/x  nope
/nores/
$(bad)
endif
if /outer/
/inner/ in
`
	tab, warns := openRules(t, "regexp", src)
	want := []string{
		"regexp map F, line 2: error parsing regexp: invalid or unsupported Perl syntax: `(?=`: skipping this rule",
		"regexp map F, line 3: error parsing regexp: invalid escape sequence: `\\1`: skipping this rule",
		`regexp map F, line 4: no closing regexp delimiter "/": skipping this rule`,
		`regexp map F, line 5: unknown regexp option "q": skipping this rule`,
		`regexp map F, line 6: out of range replacement index "2": skipping this rule`,
		`regexp map F, line 7: $number in the result of a negated pattern: skipping this rule`,
		`regexp map F, line 8: basic regular expression syntax (flag "x") is not supported: skipping this rule`,
		`regexp map F, line 9: no replacement text: using empty string`,
		`regexp map F, line 10: no closing regexp delimiter "$": skipping this rule`,
		`regexp map F, line 11: ignoring ENDIF without matching IF`,
		`regexp map F, line 12: IF has no matching ENDIF`,
	}
	if !reflect.DeepEqual(warns, want) {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(warns, "\n"), strings.Join(want, "\n"))
	}
	if v, _ := mustLookup(t, tab, "ok"); v != "fine" {
		t.Errorf("ok = %q", v)
	}
	if v, ok := mustLookup(t, tab, "nores"); !ok || v != "" {
		t.Errorf("nores = %q, %v", v, ok)
	}
	if v, _ := mustLookup(t, tab, "outer inner"); v != "in" {
		t.Errorf("unclosed if: %q", v)
	}
}

func TestRegexpWalk(t *testing.T) {
	tab, _ := openRules(t, "pcre", "/a/i  A\nif /b/\n!/c/ C\nendif\n")
	var got []string
	_ = tab.(Walker).Walk(t.Context(), func(k, v string) error {
		got = append(got, k+"="+v)
		return nil
	})
	want := []string{"/a/i=A", "!/c/=C"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("walk = %q, want %q", got, want)
	}
}

func TestRegexpRuleLimit(t *testing.T) {
	var b strings.Builder
	for range MaxPatternRules + 1 {
		b.WriteString("/x/ y\n")
	}
	path := filepath.Join(t.TempDir(), "big")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Open("regexp:"+path, Options{NoReload: true})
	if err == nil || !strings.Contains(err.Error(), "more than 20000 rules") {
		t.Errorf("err = %v", err)
	}
}

func TestParseTemplate(t *testing.T) {
	tests := []struct {
		in   string
		max  int
		fail bool
	}{
		{"plain", 0, false},
		{"$1 ${2} $(3) $$", 3, false},
		{"price $", 0, false},
		{"${name}", 0, true},
		{"${1", 0, true},
		{"$12x", 12, false},
	}
	for _, tc := range tests {
		_, max, err := parseTemplate(tc.in)
		if (err != nil) != tc.fail || (err == nil && max != tc.max) {
			t.Errorf("parseTemplate(%q) = max %d, err %v", tc.in, max, err)
		}
	}
}
