package maps

import (
	"reflect"
	"strings"
	"testing"
)

func TestCIDRTable(t *testing.T) {
	src := `# client access
192.0.2.0/24        REJECT net
192.0.2.77          never reached
198.51.100.7        host
2001:db8::/32       v6
[2001:db9::1]       bracketed
!10.0.0.0/8         not-ten
if 10.1.0.0/16
10.1.2.0/24         inner
endif
10.1.0.0/16         outer-after
`
	tab, warns := openRules(t, "cidr", src)
	if len(warns) != 0 {
		t.Errorf("warnings: %q", warns)
	}
	tests := []struct{ key, want string }{
		{"192.0.2.77", "REJECT net"},
		{"198.51.100.7", "host"},
		{"198.51.100.8", "not-ten"},
		{"2001:db8:1::5", "v6"},
		{"[2001:db8::1]", "v6"},
		{"2001:db9::1", "bracketed"},
		{"::ffff:192.0.2.1", "REJECT net"},
		{"10.1.2.3", "inner"},
		{"10.1.3.3", "outer-after"},
		{"10.2.0.1", ""},
		{"not-an-address", ""},
	}
	for _, tc := range tests {
		v, ok := mustLookup(t, tab, tc.key)
		if v != tc.want || ok != (tc.want != "") {
			t.Errorf("lookup %q = %q, %v; want %q", tc.key, v, ok, tc.want)
		}
	}
}

func TestCIDRWarnings(t *testing.T) {
	src := `1.2.3.4/24   host-bits
1.2.3.0/33   too-long
bogus/8      x
1.2.3.0/24
endif
if 1.2.0.0/16
1.2.3.0/24  ok
`
	tab, warns := openRules(t, "cidr", src)
	want := []string{
		`cidr map F, line 1: non-null host address bits in "1.2.3.4/24", skipping this rule`,
		`cidr map F, line 2: bad net/mask pattern "1.2.3.0/33": prefix length 33 is longer than 32: skipping this rule`,
		`cidr map F, line 3: bad address pattern "bogus/8": skipping this rule`,
		`cidr map F, line 4: expected format: network/length whitespace result: skipping this rule`,
		`cidr map F, line 5: ignoring ENDIF without matching IF`,
		`cidr map F, line 6: IF has no matching ENDIF`,
	}
	if !reflect.DeepEqual(warns, want) {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(warns, "\n"), strings.Join(want, "\n"))
	}
	if v, _ := mustLookup(t, tab, "1.2.3.9"); v != "ok" {
		t.Errorf("1.2.3.9 = %q", v)
	}
}
