package maps

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseAliases(t *testing.T) {
	src := `# aliases
postmaster: root
Root:   alice,
	bob ,carol
"quoted name": "|/usr/bin/vacation -a x, y", /var/log/mail.log
list: :include:/etc/postern/list.txt
no-colon here
: empty-name
empty:
a,b: x
user@domain: x
pct%host: y
  "unbalanced: x
spaces :   a    b  ,  c
`
	var (
		got   []Entry
		warns []string
	)
	opt := SourceOptions{File: "F", Warn: func(m string) { warns = append(warns, m) }}
	err := ParseAliases(strings.NewReader(src), opt, func(e Entry) error {
		got = append(got, e)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []Entry{
		{"postmaster", "root", 2},
		{"Root", "alice, bob, carol", 3},
		{"quoted name", `"|/usr/bin/vacation -a x, y", /var/log/mail.log`, 5},
		{"list", ":include:/etc/postern/list.txt", 6},
		{"spaces", "a b, c", 14},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("entries:\n got %+v\nwant %+v", got, want)
	}
	wantWarns := []string{
		"F, line 7: need name:value pair",
		"F, line 8: need name:value pair",
		"F, line 9: need name:value pair",
		"F, line 10: need name:value pair",
		"F, line 11: name must be local",
		"F, line 12: name must be local", // line 13 continues it
	}
	if !reflect.DeepEqual(warns, wantWarns) {
		t.Errorf("warnings:\n got %q\nwant %q", warns, wantWarns)
	}
}

func TestParseAliasValue(t *testing.T) {
	tests := []struct {
		in   string
		want []AliasTarget
		err  string
	}{
		{"alice, bob@example.com", []AliasTarget{{AliasAddress, "alice"}, {AliasAddress, "bob@example.com"}}, ""},
		{`"|/usr/bin/prog -x a, b", /var/mail/log`, []AliasTarget{{AliasCommand, "/usr/bin/prog -x a, b"}, {AliasFile, "/var/mail/log"}}, ""},
		{`|/bin/cat`, []AliasTarget{{AliasCommand, "/bin/cat"}}, ""},
		{`|"/bin/prog arg"`, []AliasTarget{{AliasCommand, "/bin/prog arg"}}, ""},
		{`:include:/etc/list, ":INCLUDE: /etc/other"`, []AliasTarget{{AliasInclude, "/etc/list"}, {AliasInclude, "/etc/other"}}, ""},
		{`"/path with space/file"`, []AliasTarget{{AliasFile, "/path with space/file"}}, ""},
		{`Bob Smith <bob@example.com>, carol (Carol C) `, []AliasTarget{{AliasAddress, "bob@example.com"}, {AliasAddress, "carol"}}, ""},
		{`"a b"@example.com`, []AliasTarget{{AliasAddress, "a b@example.com"}}, ""},
		{`"john smith"`, []AliasTarget{{AliasAddress, "john smith"}}, ""},
		{`\user, other`, []AliasTarget{{AliasAddress, `\user`}, {AliasAddress, "other"}}, ""},
		{`  ,, x ,`, []AliasTarget{{AliasAddress, "x"}}, ""},
		{`"unbalanced`, nil, `unbalanced '"'`},
		{`a (comment`, nil, `unbalanced '('`},
		{`<a@b`, nil, `unbalanced '<'`},
		{`"|"`, nil, "empty command"},
		{`:include:`, nil, "empty :include: path"},
	}
	for _, tc := range tests {
		got, err := ParseAliasValue(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseAliasValue(%q) err = %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseAliasValue(%q): %v", tc.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseAliasValue(%q)\n got %v\nwant %v", tc.in, got, tc.want)
		}
	}
	if AliasCommand.String() != "command" || AliasAddress.String() != "address" {
		t.Error("AliasKind.String")
	}
}
