package maps

import (
	"strings"
	"testing"
)

// The fuzz targets check that no input makes a parser panic or hang, and
// a few invariants of what comes out. Seed corpora: testdata/fuzz/.

func FuzzParseSource(f *testing.F) {
	f.Add("key value\n# c\n\n  cont\n\"q k\" v\n")
	f.Fuzz(func(t *testing.T, src string) {
		err := ParseSource(strings.NewReader(src), SourceOptions{File: "F", CheckUTF8: true, Warn: func(string) {}}, func(e Entry) error {
			if e.Key == "" || e.Value == "" || e.Line < 1 {
				t.Fatalf("bad entry %+v", e)
			}
			if trimSpace(e.Value) != e.Value {
				t.Fatalf("value not trimmed: %q", e.Value)
			}
			return nil
		})
		if err != nil && !strings.Contains(err.Error(), "too long") {
			t.Fatalf("unexpected error %v", err)
		}
	})
}

func FuzzParseAliases(f *testing.F) {
	f.Add("root: a, b\n\t\"|cmd x\"\n")
	f.Fuzz(func(t *testing.T, src string) {
		_ = ParseAliases(strings.NewReader(src), SourceOptions{File: "F", Warn: func(string) {}}, func(e Entry) error {
			if e.Key == "" || e.Value == "" {
				t.Fatalf("bad entry %+v", e)
			}
			// What postalias stores, local must be able to read.
			if _, err := ParseAliasValue(e.Value); err != nil && !strings.Contains(err.Error(), "empty") {
				t.Fatalf("stored value %q does not parse: %v", e.Value, err)
			}
			return nil
		})
	})
}

func FuzzRegexpRules(f *testing.F) {
	f.Add("/^a(b)/i $1\nif !/x/\n/y/ z\nendif\n", "regexp")
	f.Add("/a b # c\n /x ${1}\n", "pcre")
	f.Fuzz(func(t *testing.T, src, typ string) {
		if typ != "regexp" {
			typ = "pcre"
		}
		rules, err := parseRegexpRules(strings.NewReader(src), typ, "F", func(string) {})
		if err != nil {
			return
		}
		for i, r := range rules {
			if r.kind == ruleIf && (r.end < i || r.end > len(rules)) {
				t.Fatalf("rule %d: bad end %d", i, r.end)
			}
		}
		// Matching any key must not panic.
		matchRules(rules, src)
		matchRules(rules, "")
	})
}

func FuzzCIDRRules(f *testing.F) {
	f.Add("192.0.2.0/24 a\nif !2001:db8::/32\n::1 b\nendif\n", "192.0.2.1")
	f.Fuzz(func(t *testing.T, src, key string) {
		rules, err := parseCIDRRules(strings.NewReader(src), "F", func(string) {})
		if err != nil {
			return
		}
		tab := &cidrTable{spec: "cidr:F", r: &reloader[[]cidrRule]{static: true}}
		tab.r.cur.Store(&snapshot[[]cidrRule]{val: rules})
		if _, _, err := tab.Lookup(t.Context(), key); err != nil {
			t.Fatal(err)
		}
	})
}

func FuzzParseAliasValue(f *testing.F) {
	f.Add(`a, "|b c", /d, :include:/e, F <g@h> (x)`)
	f.Fuzz(func(t *testing.T, v string) {
		targets, err := ParseAliasValue(v)
		if err != nil {
			return
		}
		for _, x := range targets {
			if x.Value == "" {
				t.Fatalf("empty %v target from %q", x.Kind, v)
			}
		}
	})
}
