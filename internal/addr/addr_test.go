package addr

import "testing"

func TestSplit(t *testing.T) {
	for in, want := range map[string][2]string{
		"bob@example.test":       {"bob", "example.test"},
		`"a@b"@example.test`:     {`"a@b"`, "example.test"},
		"postmaster":             {"postmaster", ""},
		"":                       {"", ""},
		`"odd\"@x"@example.test`: {`"odd\"@x"`, "example.test"},
	} {
		l, d := Split(in)
		if l != want[0] || d != want[1] {
			t.Errorf("Split(%q) = %q, %q; want %q, %q", in, l, d, want[0], want[1])
		}
	}
}

func TestExtension(t *testing.T) {
	for _, tt := range []struct{ local, delims, user, ext string }{
		{"bob+list", "+", "bob", "list"},
		{"bob-list+x", "+-", "bob", "list+x"},
		{"bob", "+", "bob", ""},
		{"+bob", "+", "+bob", ""},
		{"bob+x", "", "bob+x", ""},
	} {
		u, e, _ := Extension(tt.local, tt.delims)
		if u != tt.user || e != tt.ext {
			t.Errorf("Extension(%q, %q) = %q, %q", tt.local, tt.delims, u, e)
		}
	}
}

func TestHostnames(t *testing.T) {
	for s, want := range map[string]bool{
		"mx.example.test": true, "localhost": true, "bad_helo!": false, "-x.test": false,
		"1.2.3.4": false, "a..b": false, "": false, "x.test.": true,
	} {
		if got := ValidHostname(s); got != want {
			t.Errorf("ValidHostname(%q) = %v", s, got)
		}
	}
	if IsFQDN("localhost") || !IsFQDN("a.b") || !IsFQDN("[127.0.0.1]") {
		t.Error("IsFQDN wrong")
	}
}

func TestQuoting(t *testing.T) {
	for in, want := range map[string]string{"bob": "bob", "a b": `"a b"`, `x"y`: `"x\"y"`, "first.last": "first.last", ".x": `".x"`} {
		if got := QuoteLocal(in); got != want {
			t.Errorf("QuoteLocal(%q) = %q, want %q", in, got, want)
		}
		if back := UnquoteLocal(QuoteLocal(in)); back != in {
			t.Errorf("round trip of %q gave %q", in, back)
		}
	}
	if StripSourceRoute("@a,@b:user@dom") != "user@dom" {
		t.Error("source route kept")
	}
}
