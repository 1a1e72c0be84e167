package smtpd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSplitPathAndAddress(t *testing.T) {
	for _, tc := range []struct {
		arg, keyword, addr string
		params             []string
		ok                 bool
	}{
		{"FROM:<a@b.test>", "FROM:", "a@b.test", nil, true},
		{"from: <a@b.test> SIZE=10", "FROM:", "a@b.test", []string{"SIZE=10"}, true},
		{"FROM:<>", "FROM:", "", nil, true},
		{"FROM:a@b.test BODY=7BIT", "FROM:", "a@b.test", []string{"BODY=7BIT"}, true},
		{`FROM:<"a b>"@c.test>`, "FROM:", `"a b>"@c.test`, nil, true},
		{"TO:<@r1,@r2:u@d.test>", "TO:", "u@d.test", nil, true},
		{"TO:<u@[192.0.2.1]>", "TO:", "u@[192.0.2.1]", nil, true},
		{"TO:<postmaster>", "TO:", "postmaster", nil, true},
		{"TO:<a@b@c>", "TO:", "", nil, false},
		{"TO:<a b@c>", "TO:", "", nil, false},
		{"TO:<@x>", "TO:", "", nil, false},
		{"TO:<a@>", "TO:", "", nil, false},
		{"TO:<a@bad..host>", "TO:", "", nil, false},
		{"TO:<a@[1.2.3]>", "TO:", "", nil, false},
		{"TO:<\"open@x>", "TO:", "", nil, false},
	} {
		path, params, ok := splitPath(tc.arg, tc.keyword)
		if !ok {
			t.Errorf("%q: no path", tc.arg)
			continue
		}
		a, ok := extractAddress(path, tc.keyword == "FROM:")
		if ok != tc.ok || (ok && a != tc.addr) || strings.Join(params, " ") != strings.Join(tc.params, " ") {
			t.Errorf("%q: got %q %v %v, want %q %v %v", tc.arg, a, params, ok, tc.addr, tc.params, tc.ok)
		}
	}
}

func TestParams(t *testing.T) {
	mp, bad := parseMailParams([]string{"SIZE=100", "BODY=8BITMIME", "SMTPUTF8", "RET=full", "ENVID=a+2Bb"}, true, true)
	if bad != "" || mp.size != 100 || mp.encoding != "8bit" || !mp.smtputf8 || mp.ret != "FULL" || mp.envID != "a+b" {
		t.Fatalf("got %+v %q", mp, bad)
	}
	for params, want := range map[string]string{
		"RET=FULL RET=HDRS":         "501 5.5.4 Bad RET parameter syntax",
		"ENVID=+zz":                 "501 5.5.4 Bad ENVID parameter syntax",
		"BODY=BINARYMIME":           "555 5.5.4 Unsupported option: BODY=BINARYMIME",
		"SIZE=99999999999999999999": "552 5.3.4 Message size exceeds file system imposed limit",
		"AUTH=<>":                   "503 5.7.4 Error: authentication disabled",
	} {
		if _, bad := parseMailParams(strings.Fields(params), true, true); bad != want {
			t.Errorf("%s: got %q, want %q", params, bad, want)
		}
	}
	rp, bad := parseRcptParams([]string{"NOTIFY=delay,success", "ORCPT=rfc822;a+40b.test"}, true)
	if bad != "" || rp.notify != "SUCCESS,DELAY" || rp.orcpt != "rfc822;a@b.test" {
		t.Fatalf("got %+v %q", rp, bad)
	}
	for _, p := range []string{"NOTIFY=NEVER,DELAY", "NOTIFY=", "ORCPT=noaddr", "ORCPT=;x"} {
		if _, bad := parseRcptParams([]string{p}, true); bad == "" {
			t.Errorf("%s accepted", p)
		}
	}
}

// FuzzCommandArgs feeds MAIL/RCPT arguments to every parser: nothing may
// panic, and an accepted address keeps the limits.
func FuzzCommandArgs(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/fuzz/seed-*")
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		if err == nil {
			f.Add(string(b))
		}
	}
	f.Fuzz(func(t *testing.T, arg string) {
		for _, kw := range []string{"FROM:", "TO:"} {
			path, params, ok := splitPath(arg, kw)
			if !ok {
				continue
			}
			if a, ok := extractAddress(path, true); ok {
				if len(a) > 1000 || strings.ContainsAny(a, "\r\n\x00") {
					t.Fatalf("accepted %q", a)
				}
			}
			parseMailParams(params, true, true)
			parseRcptParams(params, true)
		}
		decodeXtext(arg)
		parseNotify(arg)
		splitCommand(arg)
	})
}
