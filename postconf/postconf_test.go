package postconf

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

// postconf runs the command as a user would and returns what it printed
// and its exit status.
func postconf(t *testing.T, args ...string) (stdout, stderr string, status int) {
	t.Helper()
	cmd := Command()
	var out, errb bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SetArgs(args)
	err := cmd.Execute()
	var st interface{ ExitStatus() int }
	switch {
	case err == nil:
	case errors.As(err, &st):
		status = st.ExitStatus()
	default:
		t.Fatalf("postconf %q: unexpected error %v", args, err)
	}
	return out.String(), errb.String(), status
}

// configDir makes a configuration directory with the given main.cf and
// master.cf ("" for none).
func configDir(t *testing.T, mainCF, masterCF string) string {
	t.Helper()
	dir := t.TempDir()
	if mainCF != "" {
		writeFile(t, filepath.Join(dir, "main.cf"), mainCF)
	}
	if masterCF != "" {
		writeFile(t, filepath.Join(dir, "master.cf"), masterCF)
	}
	return dir
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

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
		t.Fatalf("%v (go test -update creates it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (go test -update rewrites it)\n--- got\n%s--- want\n%s", path, got, want)
	}
}

const mainCF = `# Postern configuration for the tests.
myhostname = mx.example.com
mydestination = $myhostname,
    localhost
mua_client_restrictions = permit_sasl_authenticated, reject
relay_destination_concurrency_limit = 5
`

func TestDefaultValue(t *testing.T) {
	t.Setenv("MAIL_CONFIG", t.TempDir())
	out, errs, st := postconf(t, "-d", "queue_directory")
	if out != "queue_directory = /var/spool/postern\n" || errs != "" || st != 0 {
		t.Errorf("postconf -d queue_directory = %q, %q, %d", out, errs, st)
	}
	out, _, _ = postconf(t, "-dh", "mail_owner", "setgid_group", "enable_long_queue_ids")
	if out != "postern\npostdrop\nyes\n" {
		t.Errorf("postconf -dh = %q", out)
	}
}

func TestNonDefaultFromMailConfig(t *testing.T) {
	dir := configDir(t, mainCF, masterCF)
	t.Setenv("MAIL_CONFIG", dir)
	out, errs, st := postconf(t, "-n")
	want := `mua_client_restrictions = permit_sasl_authenticated, reject
mydestination = $myhostname, localhost
myhostname = mx.example.com
relay_destination_concurrency_limit = 5
`
	if out != want || errs != "" || st != 0 {
		t.Errorf("MAIL_CONFIG=dir postconf -n:\n%s\nstderr %q, status %d; want\n%s", out, errs, st, want)
	}
	// -c wins over MAIL_CONFIG.
	other := configDir(t, "relayhost = [r.example]\n", "")
	if out, _, _ := postconf(t, "-c", other, "-n"); out != "relayhost = [r.example]\n" {
		t.Errorf("-c: %q", out)
	}
}

func TestEditRoundTrip(t *testing.T) {
	dir := configDir(t, mainCF, "")
	_, errs, st := postconf(t, "-c", dir, "-e", "relayhost = [relay.example]:587", "myhostname=new.example.com", "message_size_limit=20480000")
	if errs != "" || st != 0 {
		t.Fatalf("-e: %q, %d", errs, st)
	}
	out, _, _ := postconf(t, "-c", dir, "-n")
	for _, want := range []string{"myhostname = new.example.com\n", "relayhost = [relay.example]:587\n", "message_size_limit = 20480000\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("after -e, -n lacks %q:\n%s", want, out)
		}
	}
	data, _ := os.ReadFile(filepath.Join(dir, "main.cf"))
	if !strings.HasPrefix(string(data), "# Postern configuration for the tests.\nmyhostname = new.example.com\nmydestination = $myhostname,\n    localhost\n") {
		t.Errorf("comments or order not kept:\n%s", data)
	}
	if out, _, _ := postconf(t, "-c", dir, "-h", "relayhost"); out != "[relay.example]:587\n" {
		t.Errorf("-h relayhost = %q", out)
	}

	_, _, st = postconf(t, "-c", dir, "-X", "relayhost")
	_, _, st2 := postconf(t, "-c", dir, "-#", "mydestination")
	if st != 0 || st2 != 0 {
		t.Fatalf("-X, -#: %d %d", st, st2)
	}
	data, _ = os.ReadFile(filepath.Join(dir, "main.cf"))
	golden(t, "edited-main.cf", string(data))
	out, _, _ = postconf(t, "-c", dir, "-n")
	if strings.Contains(out, "relayhost") || strings.Contains(out, "mydestination") {
		t.Errorf("after -X relayhost and -# mydestination:\n%s", out)
	}

	_, errs, st = postconf(t, "-c", dir, "-e", "myorigin = ${oops")
	if st != 1 || !strings.HasPrefix(errs, "postconf: fatal: myorigin = \"${oops\": unterminated") {
		t.Errorf("-e with a bad value: %q, %d", errs, st)
	}
	_, errs, st = postconf(t, "-c", dir, "-e", "novalue")
	if st != 1 || errs != "postconf: fatal: missing '=' after parameter name: \"novalue\"\n" {
		t.Errorf("-e without =: %q, %d", errs, st)
	}
	// A new main.cf is created.
	empty := t.TempDir()
	if _, errs, st := postconf(t, "-c", empty, "-e", "inet_interfaces=loopback-only"); st != 0 || errs != "" {
		t.Errorf("-e in an empty directory: %q %d", errs, st)
	}
	if out, _, _ := postconf(t, "-c", empty, "-n"); out != "inet_interfaces = loopback-only\n" {
		t.Errorf("new main.cf: %q", out)
	}
}

func TestMultipleEntriesWarning(t *testing.T) {
	dir := configDir(t, "myhostname = a\nmyhostname = b\n", "")
	_, errs, st := postconf(t, "-c", dir, "-e", "myhostname=c")
	want := "postconf: warning: " + filepath.Join(dir, "main.cf") + ": multiple entries for \"myhostname\"\n"
	if errs != want || st != 0 {
		t.Errorf("stderr %q, status %d; want %q", errs, st, want)
	}
}

func TestSyntaxErrors(t *testing.T) {
	for _, tc := range []struct {
		name, mainCF, masterCF string
		args                   []string
		want                   string
	}{
		{"unterminated", "myhostname = mx.example.com\n\nmyorigin = ${foo\n", "", nil,
			`postconf: fatal: DIR/main.cf, line 3: myorigin = "${foo": unterminated "${": missing "}" in "${foo"` + "\n"},
		{"loop", "mydomain = $myorigin\nmyorigin = x.$mydomain\n", "", []string{"-n"},
			`postconf: fatal: DIR/main.cf, line 1: mydomain = "$myorigin": parameter reference loop: mydomain -> myorigin -> mydomain` + "\n"},
		{"no equals", "myhostname = a\nbogus line\n", "", []string{"myhostname"},
			`postconf: fatal: DIR/main.cf, line 2: missing '=' after parameter name: "bogus line"` + "\n"},
		{"seven columns", "", "# services\nsmtp inet n - n - - smtpd\nqmgr unix n - n 300 1\n", []string{"-M"},
			`postconf: fatal: DIR/master.cf: line 3: field "command": missing` + "\n"},
		{"seven columns, parameters", "", "smtp inet n - n - -\n", []string{"mail_name"},
			`postconf: fatal: DIR/master.cf: line 1: field "command": missing` + "\n"},
		{"bad field", "", "smtp inet n - n - - smtpd\n", []string{"-F", "smtp/inet/bogus"},
			`postconf: fatal: invalid service attribute name: "bogus"` + "\n"},
		{"unknown flag", "", "", []string{"-Z"},
			"postconf: fatal: unknown shorthand flag: 'Z' in -Z\npostconf: fatal: " + usage + "\n"},
		{"two modes", "", "", []string{"-d", "-n"}, "postconf: fatal: specify one of -d -n\n"},
		{"edit master.cf", "", "", []string{"-e", "-M", "x=y"}, "postconf: fatal: editing master.cf (-e, -X or -# with -M, -F or -P) is not supported; edit master.cf with a text editor\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := configDir(t, tc.mainCF, tc.masterCF)
			out, errs, st := postconf(t, append([]string{"-c", dir}, tc.args...)...)
			want := strings.ReplaceAll(tc.want, "DIR", dir)
			if st != 1 || errs != want || out != "" {
				t.Errorf("status %d, stdout %q\nstderr %q\nwant   %q", st, out, errs, want)
			}
		})
	}
}

func TestWarnings(t *testing.T) {
	dir := configDir(t, mainCF+"foo_bar = 1\nxyz_destination_concurrency_limit = 3\n",
		"smtp inet n - n - - smtpd\n  -o smtpd_client_restrictions=$mua_client_restrictions\n  -o bogus_option=1\nrelay unix - - n - - smtp\n")
	out, errs, st := postconf(t, "-c", dir, "mail_name", "no_such_parameter", "foo_bar")
	want := "postconf: warning: DIR/main.cf: unused parameter: foo_bar=1\n" +
		"postconf: warning: DIR/main.cf: unused parameter: xyz_destination_concurrency_limit=3\n" +
		"postconf: warning: DIR/master.cf: unused parameter: bogus_option=1\n" +
		"postconf: warning: no_such_parameter: unknown parameter\n" +
		"postconf: warning: foo_bar: unknown parameter\n"
	if errs != strings.ReplaceAll(want, "DIR", dir) || out != "mail_name = Postern\n" || st != 0 {
		t.Errorf("stdout %q, status %d\nstderr\n%s\nwant\n%s", out, st, errs, strings.ReplaceAll(want, "DIR", dir))
	}
	// -n shows only what is used; a referenced name of one's own is used.
	out, _, _ = postconf(t, "-c", dir, "-n")
	if strings.Contains(out, "foo_bar") || !strings.Contains(out, "mua_client_restrictions") || !strings.Contains(out, "relay_destination_concurrency_limit") {
		t.Errorf("-n:\n%s", out)
	}
	// The whole listing includes user-defined parameters in use.
	out, _, _ = postconf(t, "-c", dir)
	if !strings.Contains(out, "\nmua_client_restrictions = permit_sasl_authenticated, reject\n") || strings.Contains(out, "foo_bar") {
		t.Errorf("full listing lacks mua_client_restrictions or has foo_bar")
	}
}

func TestExpandAndFold(t *testing.T) {
	dir := configDir(t, mainCF+"mynetworks = 127.0.0.0/8 192.0.2.0/24 198.51.100.0/24 203.0.113.0/24 10.0.0.0/8 172.16.0.0/12 [::1]/128\n", "")
	out, _, _ := postconf(t, "-c", dir, "-x", "mydestination", "smtpd_banner")
	if out != "mydestination = mx.example.com, localhost\nsmtpd_banner = mx.example.com ESMTP Postern\n" {
		t.Errorf("-x: %q", out)
	}
	out, _, _ = postconf(t, "-c", dir, "smtpd_banner", "mynetworks")
	if !strings.HasPrefix(out, "smtpd_banner = $myhostname ESMTP $mail_name\n") {
		t.Errorf("without -x: %q", out)
	}
	out, _, _ = postconf(t, "-c", dir, "-f", "mynetworks")
	want := "mynetworks = 127.0.0.0/8 192.0.2.0/24 198.51.100.0/24 203.0.113.0/24 10.0.0.0/8\n    172.16.0.0/12 [::1]/128\n"
	if out != want {
		t.Errorf("-f:\n%s\nwant\n%s", out, want)
	}
	out, _, _ = postconf(t, "-c", dir, "-H", "mydestination", "relayhost")
	if out != "mydestination\nrelayhost\n" {
		t.Errorf("-H: %q", out)
	}
	out, _, _ = postconf(t, "-c", dir, "-o", "relayhost=[x.example]", "-x", "relayhost", "empty_one")
	if out != "relayhost = [x.example]\n" {
		t.Errorf("-o: %q", out)
	}
	out, _, _ = postconf(t, "-c", dir, "relayhost")
	if out != "relayhost =\n" {
		t.Errorf("empty value: %q", out)
	}
}

func TestDefaultsListing(t *testing.T) {
	out, errs, st := postconf(t, "-c", t.TempDir(), "-d")
	if errs != "" || st != 0 {
		t.Fatalf("-d: %q %d", errs, st)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) < 300 {
		t.Errorf("-d prints %d parameters", len(lines))
	}
	// Machine-dependent values are masked.
	mask := regexp.MustCompile(`(?m)^(myhostname|mydomain|mynetworks|process_id|process_name|mail_version) = .*$`)
	golden(t, "defaults.txt", mask.ReplaceAllString(out, "$1 = MASKED"))
}

const masterCF = `# test services
smtp      inet  n       -       y       -       -       smtpd
submission inet n       -       y       -       -       smtpd
  -o syslog_name=postern/submission
  -o smtpd_tls_security_level=encrypt
  -o smtpd_client_restrictions=$mua_client_restrictions
qmgr      unix  n       -       n       300     1       qmgr
relay     unix  -       -       y       -       -       smtp
        -o syslog_name=postern/$service_name
maildrop  unix  -       n       n       -       -       pipe
  flags=DRXhu user=vmail argv=/usr/bin/maildrop -d ${recipient} -w 90 -extra-long-argument-to-fold
x         unix  -       -       n       -       -       smtp -o smtp_helo_name=a c d -o smtp_bind_address=127.0.0.1
`

func TestMaster(t *testing.T) {
	dir := configDir(t, mainCF, masterCF)
	var b strings.Builder
	for _, args := range [][]string{
		{"-M"},
		{"-M", "relay/unix", "smtp"},
		{"-Mf"},
		{"-F", "qmgr/unix/wakeup"},
		{"-F", "relay/unix"},
		{"-F", "*/*/chroot"},
		{"-P"},
		{"-P", "submission/inet/syslog_name"},
	} {
		out, errs, st := postconf(t, append([]string{"-c", dir}, args...)...)
		if errs != "" || st != 0 {
			t.Errorf("postconf %q: %q %d", args, errs, st)
		}
		b.WriteString("$ postconf " + strings.Join(args, " ") + "\n" + out)
	}
	golden(t, "master.txt", b.String())

	out, errs, st := postconf(t, "-c", dir, "-M", "nosuch/inet")
	if out != "" || errs != "postconf: warning: unmatched request: \"nosuch/inet\"\n" || st != 0 {
		t.Errorf("-M nosuch/inet: %q %q %d", out, errs, st)
	}
}

func TestBuiltinMaster(t *testing.T) {
	out, errs, st := postconf(t, "-c", t.TempDir(), "-M")
	if errs != "" || st != 0 {
		t.Fatalf("-M: %q %d", errs, st)
	}
	golden(t, "builtin-master.txt", out)
	out, _, _ = postconf(t, "-c", t.TempDir(), "-F", "qmgr/unix/wakeup")
	if out != "qmgr/unix/wakeup = 300\n" {
		t.Errorf("-F qmgr/unix/wakeup = %q", out)
	}
}

func TestLists(t *testing.T) {
	saved := tableTypes
	defer func() { tableTypes = saved }()
	tableTypes = func() []string { return []string{"cidr", "hash", "texthash"} }
	if out, _, _ := postconf(t, "-m"); out != "cidr\nhash\ntexthash\n" {
		t.Errorf("-m = %q", out)
	}
	if out, _, _ := postconf(t, "-l"); out != "flock\nfcntl\ndotlock\n" {
		t.Errorf("-l = %q", out)
	}
}

func TestRealTableTypes(t *testing.T) {
	out, _, st := postconf(t, "-m")
	if st != 0 || !strings.Contains(out, "hash\n") {
		t.Errorf("-m = %q, %d", out, st)
	}
}
