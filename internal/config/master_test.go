package config

import (
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (go test -update rewrites it)\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

func TestParseMasterGolden(t *testing.T) {
	data, err := os.ReadFile("testdata/master.cf")
	if err != nil {
		t.Fatal(err)
	}
	svcs, err := ParseMaster("testdata/master.cf", data)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, s := range svcs {
		b.WriteString(s.Format() + "\n")
	}
	golden(t, "master.golden", b.String())

	byKey := map[string]Service{}
	for _, s := range svcs {
		byKey[s.Key()] = s
	}
	sub := byKey["submission/inet"]
	wantOpts := []Option{
		{"syslog_name", "postfix/submission"},
		{"smtpd_reject_footer", "submission port: use STARTTLS"},
		{"smtpd_sasl_auth_enable", "yes"},
		{"smtpd_client_restrictions", "$mua_client_restrictions"},
	}
	if !reflect.DeepEqual(sub.Options, wantOpts) || sub.Line != 5 || sub.Private || !sub.Unpriv || !sub.Chroot || sub.MaxProc != -1 {
		t.Errorf("submission = %+v", sub)
	}
	spamd := byKey["spamd/unix"]
	wantArgs := []string{"user=spamd", "argv=/usr/bin/spamc", "-e /usr/sbin/sendmail -oi", "-f", "${sender}", "${recipient}"}
	if !reflect.DeepEqual(spamd.Args, wantArgs) || spamd.Unpriv || spamd.Command != "pipe" {
		t.Errorf("spamd = %+v", spamd)
	}
	tls := byKey["tlsmgr/unix"]
	if tls.Wakeup != 1000 || !tls.WakeupWhenUsed || tls.MaxProc != 1 || !tls.Private {
		t.Errorf("tlsmgr = %+v", tls)
	}
	// The second qmgr/unix replaced the first, in its place.
	if q := byKey["qmgr/unix"]; q.Wakeup != 600 || q.Line != 27 {
		t.Errorf("qmgr = %+v", q)
	}
	if svcs[5].Key() != "qmgr/unix" {
		t.Errorf("qmgr moved to %d", len(svcs))
	}
}

func TestParseMasterErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"# c\n\nsmtp inet n - n - -\n", "master.cf: line 3: field \"command\": missing"},
		{"smtp\n", "master.cf: line 1: field \"type\": missing"},
		{"smtp inet n - n\n  -\n", "master.cf: line 1: field \"process_limit\": missing"},
		{"smtp foo n - n - - smtpd\n", "line 1: field \"type\": unknown service type \"foo\""},
		{"smtp inet x - n - - smtpd\n", "line 1: field \"private\": \"x\" is not y, n or -"},
		{"smtp inet n - n abc - smtpd\n", "line 1: field \"wakeup\""},
		{"smtp inet n - n - -1 smtpd\n", "line 1: field \"process_limit\": \"-1\" is not a number or -"},
		{"smtp inet n - n - - smtpd -o smtpd_banner = x\n", "line 1: -o \"smtpd_banner\": expected name=value"},
		{"smtp inet n - n - - smtpd -o\n", "line 1: -o at the end of the line"},
		{"smtp inet n - n - - smtpd { unterminated\n", "line 1: missing \"}\""},
		{"smtp inet n - n - - smtpd -o {smtpd_banner}\n", "line 1: -o \"smtpd_banner\": expected name=value"},
		{"smtp inet n - n - - {smtpd}\n", "line 1: field \"command\""},
		{"  smtp inet n - n - - smtpd\n", "line 1: text starts with whitespace"},
	} {
		_, err := ParseMaster("/etc/postern/master.cf", []byte(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "/etc/postern/master.cf: line ") {
			t.Errorf("ParseMaster(%q) error\n got %v\nwant %q", tc.in, err, tc.want)
		}
	}
}

func TestDefaultMaster(t *testing.T) {
	svcs, err := LoadMaster(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, s := range svcs {
		keys = append(keys, s.Key())
		if s.File != BuiltinMasterName {
			t.Errorf("%s: File = %q", s.Key(), s.File)
		}
	}
	want := "smtp/inet pickup/unix cleanup/unix qmgr/unix bounce/unix defer/unix trace/unix showq/unix smtp/unix relay/unix lmtp/unix local/unix virtual/unix error/unix retry/unix discard/unix"
	if got := strings.Join(keys, " "); got != want {
		t.Errorf("built-in services:\n got %s\nwant %s", got, want)
	}
	c := Defaults()
	for _, s := range svcs {
		if s.Name == "relay" {
			r := c.With(append([]Option{{"service_name", s.Name}}, s.Options...))
			if got := r.Get("syslog_name"); got != "postern/relay" {
				t.Errorf("relay syslog_name = %q", got)
			}
		}
	}
}
