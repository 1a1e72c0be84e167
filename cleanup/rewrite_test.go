package cleanup

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/postern-mta/postern/internal/dsn"
)

func TestQualify(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"bob", "bob@mx.example.test"},
		{"bob@other.test", "bob@other.test"},
		{"bob@other.test.", "bob@other.test"},
		{"@a,@b:bob@c.test", "bob@c.test"},
		{`"john doe"`, `"john doe"@mx.example.test`},
		{"", ""},
	} {
		if got := qualify(tc.in, "mx.example.test"); got != tc.want {
			t.Errorf("qualify(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestVirtualExpansion(t *testing.T) {
	cases := []struct {
		name  string
		table string
		mod   func(*Config)
		addr  string
		want  []string
		err   *dsn.Status
		warn  string
	}{
		{name: "not found", table: "{x@y.test=z@y.test}", addr: "bob@mx.example.test", want: []string{"bob@mx.example.test"}},
		{name: "one to many", table: "{{list@x.test=a@x.test, b@x.test, c@y.test}}", addr: "list@x.test",
			want: []string{"a@x.test", "b@x.test", "c@y.test"}},
		{name: "recursive", table: "{a@x.test=b@x.test, {b@x.test=c@x.test, d@x.test}, d@x.test=e@x.test}", addr: "a@x.test",
			want: []string{"c@x.test", "e@x.test"}},
		{name: "self among others", table: "{{a@x.test=a@x.test, archive@x.test}}", addr: "a@x.test",
			want: []string{"a@x.test", "archive@x.test"}},
		{name: "catch-all", table: "{@x.test=catch@y.test}", addr: "anyone@x.test", want: []string{"catch@y.test"}},
		{name: "exact beats catch-all", table: "{@x.test=catch@y.test, bob@x.test=bob@z.test}", addr: "bob@x.test", want: []string{"bob@z.test"}},
		{name: "same user elsewhere", table: "{@x.test=@z.test}", addr: "bob@x.test", want: []string{"bob@z.test"}},
		{name: "bare result gets myorigin", table: "{bob@x.test=robert}", addr: "bob@x.test", want: []string{"robert@mx.example.test"}},
		{name: "local user form", table: "{bob=robert@z.test}", addr: "bob@mx.example.test", want: []string{"robert@z.test"}},
		{name: "local user form, other domain", table: "{bob=robert@z.test}", addr: "bob@other.test", want: []string{"bob@other.test"}},
		{name: "extension propagated", table: "{bob@x.test=robert@z.test}", addr: "bob+news@x.test",
			mod: func(c *Config) { c.RecipientDelimiter = "+" }, want: []string{"robert+news@z.test"}},
		{name: "extension matched", table: "{bob+news@x.test=news@z.test, bob@x.test=robert@z.test}", addr: "bob+news@x.test",
			mod: func(c *Config) { c.RecipientDelimiter = "+" }, want: []string{"news@z.test"}},
		{name: "extension not propagated", table: "{bob@x.test=robert@z.test}", addr: "bob+news@x.test",
			mod: func(c *Config) { c.RecipientDelimiter = "+"; c.PropagateVirtual = false }, want: []string{"robert@z.test"}},
		{name: "loop", table: "{a@x.test=b@x.test, b@x.test=a@x.test}", addr: "a@x.test",
			err: errExpansion, warn: "unreasonable virtual_alias_maps map nesting for a@x.test"},
		{name: "recursion limit", table: "{a@x.test=b@x.test, b@x.test=c@x.test, c@x.test=d@x.test}", addr: "a@x.test",
			mod: func(c *Config) { c.RecursionLimit = 2 }, err: errExpansion, warn: "map nesting"},
		{name: "expansion limit", table: "{{big@x.test=a@x.test, b@x.test, c@x.test, d@x.test}}", addr: "big@x.test",
			mod: func(c *Config) { c.ExpansionLimit = 3 }, err: errExpansion, warn: "map expansion size for big@x.test"},
		{name: "table failure", table: "", addr: "a@x.test", err: errTable, warn: "lookup problem"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(t.TempDir())
			if tc.table == "" {
				cfg.VirtualAlias = table(t, "fail", "virtual")
			} else {
				cfg.VirtualAlias = table(t, "inline", tc.table)
			}
			if tc.mod != nil {
				tc.mod(cfg)
			}
			rw := &rewriter{cfg: cfg}
			var warns []string
			got, err := rw.virtual(context.Background(), tc.addr, func(s string) { warns = append(warns, s) })
			if tc.err != nil {
				var st *dsn.Status
				if !errors.As(err, &st) || st.Enhanced != tc.err.Enhanced || st.Text != tc.err.Text {
					t.Fatalf("err = %v, want %v", err, tc.err)
				}
				if len(warns) == 0 || !strings.Contains(warns[0], tc.warn) {
					t.Fatalf("warnings %q, want one with %q", warns, tc.warn)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("virtual(%s) = %q, want %q", tc.addr, got, tc.want)
			}
		})
	}
}

func TestCanonicalAndMasquerade(t *testing.T) {
	cfg := testConfig(t.TempDir())
	cfg.Canonical = table(t, "inline", "{root=admin@corp.test, @old.test=@new.test}")
	cfg.SenderCanonical = table(t, "inline", "{alice@mx.example.test=Alice.Liddell@mx.example.test}")
	cfg.RecipientCanonical = table(t, "inline", "{list=list@lists.test}")
	cfg.MasqueradeDomains = []string{"!keep.example.test", "example.test"}
	cfg.MasqueradeExceptions = map[string]bool{"root": true}
	rw := &rewriter{cfg: cfg}
	ctx := context.Background()
	for _, tc := range []struct {
		kind, in, want string
	}{
		{"sender", "alice", "Alice.Liddell@example.test"}, // sender canonical, then masquerade
		{"sender", "root", "admin@corp.test"},
		{"sender", "joe@old.test", "joe@new.test"},
		{"sender", "joe@host.keep.example.test", "joe@host.keep.example.test"},
		{"sender", "root@host.example.test", "root@host.example.test"}, // exception
		{"sender", "", ""},
		{"recipient", "list", "list@lists.test"},
		{"recipient", "alice", "alice@mx.example.test"},                 // sender_canonical is not for recipients
		{"recipient", "joe@host.example.test", "joe@host.example.test"}, // masquerade_classes has no envelope_recipient
	} {
		var got string
		var err error
		if tc.kind == "sender" {
			got, err = rw.sender(ctx, tc.in, true)
		} else {
			got, err = rw.recipient(ctx, tc.in, true)
		}
		if err != nil || got != tc.want {
			t.Errorf("%s(%q) = %q, %v; want %q", tc.kind, tc.in, got, err, tc.want)
		}
	}
	if got, _ := rw.sender(ctx, "root", false); got != "root@mx.example.test" {
		t.Errorf("no mapping: sender(root) = %q", got)
	}
}

func TestScanAddrs(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"bob", []string{"bob"}},
		{"Bob <bob@x.test>", []string{"bob@x.test"}},
		{`"Smith, John" <john@x.test>, jane@x.test (Jane)`, []string{"john@x.test", "jane@x.test"}},
		{"team: a@x.test, b@x.test;, c@x.test", []string{"a@x.test", "b@x.test", "c@x.test"}},
		{"undisclosed-recipients:;", nil},
		{"<@a.test,@b.test:u@c.test>", []string{"@a.test,@b.test:u@c.test"}},
		{`"john doe"@x.test`, []string{`"john doe"@x.test`}},
		{"bob @ x . test", []string{"bob@x.test"}},
		{"<>", []string{""}},
		{"(only a comment)", nil},
		{"a@x.test,\n\tb@x.test", []string{"a@x.test", "b@x.test"}},
		{"user@[192.0.2.1]", []string{"user@[192.0.2.1]"}},
		{"broken <a@x.test", []string{"a@x.test"}},
		{`"unterminated`, []string{`"unterminated`}},
	} {
		var got []string
		for _, r := range scanAddrs(tc.in, 100) {
			got = append(got, r.addr)
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("scanAddrs(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if n := len(scanAddrs("a, b, c, d", 2)); n != 2 {
		t.Errorf("limit 2 gave %d addresses", n)
	}
	v := "Bob <bob>, carol (C)"
	got, changed := replaceAddrs(v, scanAddrs(v, 10), func(a string) string { return a + "@x.test" })
	if !changed || got != "Bob <bob@x.test>, carol@x.test (C)" {
		t.Errorf("replaceAddrs = %q, %v", got, changed)
	}
}
