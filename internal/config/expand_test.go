package config

import (
	"strings"
	"testing"
)

// The expected values were checked against Postfix 3.7's postconf -x.
var expandCases = []struct {
	in, want string
	bad      bool
}{
	{in: "plain text", want: "plain text"},
	{in: "$myhostname.foo", want: "mx.example.com.foo"},
	{in: "$(myhostname)", want: "mx.example.com"},
	{in: "${ myhostname }", want: "mx.example.com"},
	{in: "$myhostname-$mail_name", want: "mx.example.com-Postern"},
	{in: "$$myhostname", want: "$myhostname"},
	{in: "$myhostname$$", want: "mx.example.com$"},
	{in: "${myhostname}}", want: "mx.example.com}"},
	{in: "{x}", want: "{x}"},
	{in: "$a.b", want: ".b"},
	{in: "${myhostname?{a}:{b}}", want: "a"},
	{in: "${nosuch?{a}:{b}}", want: "b"},
	{in: "${nosuch:{def}}", want: "def"},
	{in: "${myhostname:{def}}", want: ""},
	{in: "${myhostname?x y z}", want: "x y z"},
	{in: "x${myhostname? a b }x", want: "x a b x"},
	{in: "x${myhostname?{ a }}x", want: "x a x"},
	{in: "${myhostname ?a}", want: "a"},
	{in: "${myhostname?{a} : {b}}", want: "a"},
	{in: "${myhostname?a:b}", want: "a:b"},
	{in: "${nosuch?a:b}", want: ""},
	{in: "${myhostname:}", want: ""},
	{in: "${myhostname?}", want: ""},
	{in: "$(myhostname?x)", want: "x"},
	{in: "$(myhostname?(x))", want: "(x)"},
	{in: "$(myhostname?{x})", want: "x"},
	{in: "${myhostname?$(mail_name)}", want: "Postern"},
	{in: "${myhostname?${mail_name}}", want: "Postern"},
	{in: "${myhostname?{${nosuch:{in}}}}", want: "in"},
	{in: "x${myhostname?a}b}x", want: "xab}x"},
	{in: "x${myhostname?{a}}b}x", want: "xab}x"},
	{in: "${stress?{1}:{20}}", want: "20"},
	{in: "${{1} < {2} ? {yes} : {no}}", want: "yes"},
	{in: "${{1}<{2}?{t}:{f}}", want: "t"},
	{in: "${ {a} == {a} ? {t} : {f} }", want: "t"},
	{in: "${{abc} == {abc} ? {eq}}", want: "eq"},
	{in: "${{a}=={a}?{t}}", want: "t"},
	{in: "${{a} == {b} ? {t}}", want: ""},
	{in: "${{a} == {b}}", want: ""},
	{in: "${{a} != {b} ? {t} : {f}}", want: "t"},
	{in: "${{10} < {9} ? {t} : {f}}", want: "f"},
	{in: "${{10} >= {9} ? {t} : {f}}", want: "t"},
	{in: "${{9} <= {9} ? {t} : {f}}", want: "t"},
	{in: "${{010} == {10} ? {t} : {f}}", want: "t"},
	{in: "${{abc} < {abd} ? {t} : {f}}", want: "t"},
	{in: "${{-1} < {2} ? {t} : {f}}", want: "t"},
	{in: "${{ a } == {a} ? {t} : {f}}", want: "f"},
	{in: "${{$myhostname} == {mx.example.com} ? {t} : {f}}", want: "t"},
	{in: "x${{a} == {a} ? { t } : {f}}x", want: "x t x"},
	{in: "x${{a} == {a} : {t}}x", want: "xx"},
	{in: "x${{a} == {b} : {t}}x", want: "xtx"},
	{in: "x${{a} == {a} ? t : f}x", want: "x t : fx"},
	{in: "${{3.6} <level {3.10} ? {t} : {f}}", want: "t"},
	{in: "${{3.7} >=level {3.6} ? {t} : {f}}", want: "t"},
	{in: "${{3.7} <level {3.6.1} ? {t} : {f}}", want: "f"},
	{in: "${{3} <level {3.6} ? {t} : {f}}", want: "t"},
	{in: "${{3.7.0} ==level {3.7} ? {t} : {f}}", want: "t"},
	{in: "${{3.10} >level {3.9} ? {t} : {f}}", want: "t"},
	{in: "${{$compatibility_level} <level {2} ? {subnet} : {host}}", want: "host"},

	{in: "$", bad: true},
	{in: "x$-y", bad: true},
	{in: "${myhostname", bad: true},
	{in: "${myhostname?{a}", bad: true},
	{in: "$(myhostname}", bad: true},
	{in: "${myhostname)", bad: true},
	{in: "${}", bad: true},
	{in: "${my-hostname}", bad: true},
	{in: "${myhostname?{x}y}", bad: true},
	{in: "${myhostname?{a}:{b}:{c}}", bad: true},
	{in: "${myhostname?{a}:b}", bad: true},
	{in: "${myhostname:{a}:{b}}", bad: true},
	{in: "${nosuch:{a}:{b}}", bad: true},
	{in: "x${{a} == {a} ? {t} x}x", bad: true},
	{in: "${{a} foo {b} ? {t} : {f}}", bad: true},
	{in: "${{a}}", bad: true},
	{in: "${{a} ==}", bad: true},
	{in: "${{a} == {b} x}", bad: true},
	{in: "${{a} ==level {b} ? {t} : {f}}", bad: true},
	{in: "${{x} <level {3.6} ? {t} : {f}}", bad: true},
	{in: "${{1.2.3.4} <level {3.6} ? {t} : {f}}", bad: true},
}

func TestExpand(t *testing.T) {
	c := Defaults()
	c.Set("myhostname", "mx.example.com")
	for _, tc := range expandCases {
		got, err := c.ExpandString(tc.in)
		switch {
		case tc.bad && err == nil:
			t.Errorf("ExpandString(%q) = %q, want an error", tc.in, got)
		case !tc.bad && err != nil:
			t.Errorf("ExpandString(%q): %v", tc.in, err)
		case !tc.bad && got != tc.want:
			t.Errorf("ExpandString(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestExpandIsLazy(t *testing.T) {
	c := Defaults()
	c.Set("banner_host", "$myhostname")
	c.Set("smtpd_banner", "$banner_host ready")
	c.Set("myhostname", "a.example")
	if got := c.Get("smtpd_banner"); got != "a.example ready" {
		t.Fatalf("smtpd_banner = %q", got)
	}
	c.Set("myhostname", "b.example")
	if got := c.Get("smtpd_banner"); got != "b.example ready" {
		t.Fatalf("after changing myhostname, smtpd_banner = %q", got)
	}
}

func TestExpandLoop(t *testing.T) {
	c := Defaults()
	c.Set("mydomain", "$myorigin")
	c.Set("myorigin", "x.$mydomain")
	_, err := c.Expand("myorigin")
	if err == nil || !strings.Contains(err.Error(), "loop: myorigin -> mydomain -> myorigin") {
		t.Fatalf("Expand(myorigin) error = %v, want the loop named", err)
	}
	if got := c.Get("myorigin"); got != "" {
		t.Errorf("Get of a loop = %q, want empty", got)
	}
	// The test of ${name?…} looks at the value as written: no loop.
	c.Set("selfish", "${selfish?yes}")
	if got, err := c.Expand("selfish"); err != nil || got != "yes" {
		t.Errorf("Expand(selfish) = %q, %v", got, err)
	}
}

func TestExpandLimits(t *testing.T) {
	// Every level doubles the text: stopped by the size limit.
	c := Defaults()
	for i := 0; i < 40; i++ {
		c.Set(name(i), "$"+name(i+1)+"$"+name(i+1))
	}
	c.Set(name(40), strings.Repeat("x", 4096))
	if _, err := c.Expand(name(0)); err == nil || !strings.Contains(err.Error(), "longer than") {
		t.Errorf("doubling expansion: error = %v, want the size limit", err)
	}
	// Every level doubles the work but makes no text: stopped by steps.
	c = Defaults()
	for i := 0; i < 40; i++ {
		c.Set(name(i), "${{$"+name(i+1)+"} == {$"+name(i+1)+"}}")
	}
	if _, err := c.Expand(name(0)); err == nil || !strings.Contains(err.Error(), "steps") {
		t.Errorf("doubling comparisons: error = %v, want the step limit", err)
	}
	// A long chain of different names: stopped by the nesting limit.
	c = Defaults()
	for i := 0; i < 150; i++ {
		c.Set(name(i), "$"+name(i+1))
	}
	if _, err := c.Expand(name(0)); err == nil || !strings.Contains(err.Error(), "nested") {
		t.Errorf("deep chain: error = %v, want the nesting limit", err)
	}
	// Deeply nested braces in one value.
	deep := strings.Repeat("${a?", 200) + strings.Repeat("}", 200)
	if _, err := c.ExpandString(deep); err == nil {
		t.Errorf("200 nested conditionals: no error")
	}
}

func name(i int) string {
	return "p" + strings.Repeat("x", i%3) + string(rune('a'+i%26)) + string(rune('a'+i/26))
}

func TestRawParams(t *testing.T) {
	c := Defaults()
	c.Set("forward_path", "$home/.forward$$")
	c.Set("myhostname", "mx.example.com")
	if got := c.Get("forward_path"); got != "$home/.forward$$" {
		t.Errorf("forward_path = %q, want it as written", got)
	}
	got, err := c.ExpandWith(c.Get("forward_path"), map[string]string{"home": "/home/bob"})
	if err != nil || got != "/home/bob/.forward$" {
		t.Errorf("ExpandWith(forward_path) = %q, %v", got, err)
	}
	got, err = c.ExpandWith("$rbl_code at $myhostname", map[string]string{"rbl_code": "554"})
	if err != nil || got != "554 at mx.example.com" {
		t.Errorf("ExpandWith = %q, %v", got, err)
	}
	// The expansion filter holds a "$" that is no reference.
	if got := c.Get("smtpd_expansion_filter"); !strings.Contains(got, "#$%") {
		t.Errorf("smtpd_expansion_filter = %q", got)
	}
	if !IsRaw("mailbox_command") || IsRaw("myhostname") {
		t.Errorf("IsRaw is wrong")
	}
}
