package smtp

import (
	"fmt"
	"net/netip"
	"slices"
	"testing"
)

func TestParseNexthops(t *testing.T) {
	for _, tc := range []struct {
		in   string
		lmtp bool
		want string // dests as "host/addr/port/mx/unix", ";"-separated
		err  bool
	}{
		{in: "example.com", want: "example.com//0/true/"},
		{in: "Example.COM.", want: "example.com//0/true/"},
		{in: "example.com:2525", want: "example.com//2525/true/"},
		{in: "[mx.example.com]", want: "mx.example.com//0/false/"},
		{in: "[mx.example.com]:587", want: "mx.example.com//587/false/"},
		{in: "[mx.example.com]:submission", want: "mx.example.com//587/false/"},
		{in: "[192.0.2.1]", want: "192.0.2.1/192.0.2.1/0/false/"},
		{in: "192.0.2.1:25", want: "192.0.2.1/192.0.2.1/25/false/"},
		{in: "[ipv6:2001:db8::1]:25", want: "2001:db8::1/2001:db8::1/25/false/"},
		{in: "[2001:db8::1]", want: "2001:db8::1/2001:db8::1/0/false/"},
		{in: "[a.test]:25, [b.test]:26", want: "a.test//25/false/;b.test//26/false/"},
		{in: "bücher.example", want: "xn--bcher-kva.example//0/true/"},
		{in: "inet:mail.test:24", lmtp: true, want: "mail.test//24/false/"},
		{in: "mail.test", lmtp: true, want: "mail.test//0/false/"},
		{in: "unix:/run/lmtp", lmtp: true, want: "//0/false//run/lmtp"},
		{in: "unix:private/dovecot", lmtp: true, want: "//0/false//q/private/dovecot"},
		{in: "unix:/run/lmtp", err: true},
		{in: "", err: true},
		{in: "[unterminated", err: true},
		{in: "[host]junk", err: true},
		{in: "host:99999", err: true},
		{in: "host:nosuchservice", err: true},
		{in: "2001:db8::1", err: true},
		{in: "unix:", lmtp: true, err: true},
	} {
		ds, err := parseNexthops(tc.in, tc.lmtp, "/q")
		if tc.err {
			if err == nil {
				t.Errorf("%q: no error, got %+v", tc.in, ds)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		got := ""
		for i, d := range ds {
			if i > 0 {
				got += ";"
			}
			a := ""
			if d.addr.IsValid() {
				a = d.addr.String()
			}
			got += fmt.Sprintf("%s/%s/%d/%v/%s", d.host, a, d.port, d.mx, d.unix)
		}
		if got != tc.want {
			t.Errorf("%q: got %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestPunycode(t *testing.T) {
	for in, want := range map[string]string{
		"bücher":  "bcher-kva",
		"münchen": "mnchen-3ya",
		"例え":      "r8jz45g",
		"ü":       "tda",
	} {
		if got := punycode(in); got != want {
			t.Errorf("punycode(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParamEncoding(t *testing.T) {
	if got := xtext("a+b=c d\x01é"); got != "a+2Bb+3Dc+20d+01+C3+A9" {
		t.Errorf("xtext: %q", got)
	}
	for _, tc := range []struct {
		in     string
		utf8OK bool
		want   string
		ok     bool
	}{
		{"rfc822;bob+x@example.com", false, "rfc822;bob+2Bx@example.com", true},
		{"utf-8;jürgen@example.com", true, "utf-8;jürgen@example.com", true},
		{"utf-8;jürgen@example.com", false, `utf-8;j\x{FC}rgen@example.com`, true},
		{"utf-8;a+b@example.com", true, `utf-8;a\x{2B}b@example.com`, true},
		{"rfc822;jürgen@example.com", false, "", false},
		{"noseparator", false, "", false},
		{"rfc822;a\r\nRCPT TO:<x>", false, "", false},
	} {
		got, ok := encodeORCPT(tc.in, tc.utf8OK)
		if got != tc.want || ok != tc.ok {
			t.Errorf("encodeORCPT(%q, %v) = %q, %v; want %q, %v", tc.in, tc.utf8OK, got, ok, tc.want, tc.ok)
		}
	}
	for n, want := range map[string]bool{"NEVER": true, "SUCCESS,FAILURE": true, "DELAY": true, "": false, "NEVER,SUCCESS": false, "SUCCESS\r\nQUIT": false} {
		if validNotify(n) != want {
			t.Errorf("validNotify(%q) != %v", n, want)
		}
	}
}

func TestAddressOrder(t *testing.T) {
	v4a, v4b := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
	v6a, v6b := netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("2001:db8::2")
	in := []netip.Addr{v6a, v6b, v4a, v4b}
	for pref, want := range map[string][]netip.Addr{
		"ipv4": {v4a, v4b, v6a, v6b},
		"ipv6": {v6a, v6b, v4a, v4b},
	} {
		a := &Agent{cfg: Config{AddressPreference: pref}}
		if got := a.order(slices.Clone(in)); !slices.Equal(got, want) {
			t.Errorf("%s: %v, want %v", pref, got, want)
		}
	}
	a := &Agent{cfg: Config{AddressPreference: "any"}}
	got := a.order(slices.Clone(in))
	if len(got) != 4 || got[0].Is4() == got[1].Is4() || got[1].Is4() == got[2].Is4() {
		t.Errorf("any: %v, want the families interleaved", got)
	}
}
