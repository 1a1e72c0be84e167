package config

import (
	"strings"
	"testing"
)

// The fuzz targets check that no input panics or hangs, and that what is
// accepted reads back consistently. Seeds are in testdata/fuzz/.

func FuzzParseMain(f *testing.F) {
	f.Add([]byte(sampleMainCF))
	f.Add([]byte("a = ${b?{$c}:{${{$d} <level {3.6} ? {x} : {y}}}}\nb = $a\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("fuzz/main.cf", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz/main.cf") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		for _, n := range c.SetNames() {
			if _, err := c.Expand(n); err != nil {
				t.Fatalf("Parse accepted %s but Expand fails: %v", n, err)
			}
		}
		c.Unused([]string{"smtp", "relay"})
	})
}

func FuzzExpand(f *testing.F) {
	for _, tc := range expandCases {
		f.Add(tc.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c := Defaults()
		c.Set("myhostname", "mx.example.com")
		c.Set("x", s)
		c.Set("y", "$x$x")
		c.ExpandString(s)
		c.Expand("y")
		SplitList(s)
		parseDuration(s, 's')
	})
}

func FuzzParseMaster(f *testing.F) {
	f.Add([]byte(DefaultMasterCF))
	f.Add([]byte("a inet n - n 1? 0 cmd -o {x = y z} {a b} -oq=r\n  -o p=$q\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		svcs, err := ParseMaster("fuzz/master.cf", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz/master.cf: ") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		for _, s := range svcs {
			// A normalized line parses back to the same service.
			again, err := ParseMaster("again", []byte(s.Format()+"\n"))
			if err != nil || len(again) != 1 {
				t.Fatalf("Format %q does not parse back: %v", s.Format(), err)
			}
			if again[0].Format() != s.Format() {
				t.Fatalf("round trip changed %q into %q", s.Format(), again[0].Format())
			}
		}
	})
}

func FuzzApplyChanges(f *testing.F) {
	f.Add([]byte(sampleMainCF), "myhostname", "a.example", byte(0))
	f.Fuzz(func(t *testing.T, data []byte, name, value string, op byte) {
		ch := Change{Name: name, Value: value, Remove: op%3 == 1, Comment: op%3 == 2}
		out, _, err := ApplyChanges(data, []Change{ch})
		if err != nil {
			return
		}
		if _, err := Parse("before", data); err != nil {
			return
		}
		c, err := Parse("after", out)
		if err != nil {
			// A value may make an expansion loop with the rest of the file.
			if !strings.Contains(err.Error(), "loop") && !strings.Contains(err.Error(), "expansion") && !strings.Contains(err.Error(), "nested") && !strings.Contains(err.Error(), "level") {
				t.Fatalf("edit of a good file made it unreadable: %v\n%q", err, out)
			}
			return
		}
		if !ch.Remove && !ch.Comment {
			if got, _ := c.Raw(name); got != strings.TrimSpace(value) && strings.TrimSpace(value) == value {
				t.Fatalf("after -e %s=%q the value is %q", name, value, got)
			}
		}
	})
}
