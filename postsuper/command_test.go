package postsuper

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/postern-mta/postern/queue"
)

// runCommand runs the postsuper command in this process (without
// dropping privileges) against the fixture's queue. Its mail log is
// f.maillog.
func (f *fixture) runCommand(stdin string, args ...string) (string, error) {
	f.t.Helper()
	dropPrivs = func(string, string) error { return nil }
	defer func() { dropPrivs = dropPrivileges }()
	dir := f.t.TempDir()
	if f.maillog == "" {
		f.maillog = filepath.Join(dir, "maillog")
		if err := os.WriteFile(f.maillog, nil, 0o644); err != nil {
			f.t.Fatal(err)
		}
	}
	main := fmt.Sprintf("queue_directory = %s\nhash_queue_names = deferred, defer\nmaillog_file = %s\nmaillog_file_prefixes = %s\n",
		f.l.Root, f.maillog, filepath.Dir(f.maillog))
	if err := os.WriteFile(filepath.Join(dir, "main.cf"), []byte(main), 0o644); err != nil {
		f.t.Fatal(err)
	}
	cmd := Command()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetIn(strings.NewReader(stdin))
	cmd.SetArgs(append([]string{"-c", dir}, args...))
	err := cmd.Execute()
	return out.String(), err
}

func TestCommandFlags(t *testing.T) {
	f := newFixture(t)
	a := f.add(queue.Deferred, "a@remote.test")
	b := f.add(queue.Deferred, "b@remote.test")
	c := f.add(queue.Incoming, "c@remote.test")
	out, err := f.runCommand("", "-h", a, "-h"+b)
	if err != nil || out != "postsuper: "+a+": placed on hold\npostsuper: "+b+": placed on hold\npostsuper: Placed on hold: 2 messages\n" {
		t.Errorf("-h: %v, %q", err, out)
	}
	out, err = f.runCommand(a+"\n", "-H", "-")
	if err != nil || out != "postsuper: "+a+": released from hold\npostsuper: Released from hold: 1 message\n" {
		t.Errorf("-H -: %v, %q", err, out)
	}
	out, err = f.runCommand("", "-dALL", "incoming")
	if err != nil || out != "postsuper: Deleted: 1 message\n" {
		t.Errorf("-dALL incoming: %v, %q", err, out)
	}
	f.mustBe(c, "")
	f.mustBe(a, queue.Deferred)
	// No operation: -s and -p.
	if out, err := f.runCommand(""); err != nil || out != "" {
		t.Errorf("no options: %v, %q", err, out)
	}
}

// As Postfix's, postsuper's lines also go to the mail log (maillog_file
// here, else syslog), so that a deletion is on record beside the
// daemons' lines about the message.
func TestCommandLogsToMailLog(t *testing.T) {
	f := newFixture(t)
	a := f.add(queue.Deferred, "a@remote.test")
	if _, err := f.runCommand("", "-d", a, "-d", "bogus/id"); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(f.maillog)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"postern/postsuper[" + fmt.Sprint(os.Getpid()) + "]: " + a + ": removed\n",
		"postern/postsuper[" + fmt.Sprint(os.Getpid()) + "]: warning: invalid mail queue id: bogus/id\n",
		"postern/postsuper[" + fmt.Sprint(os.Getpid()) + "]: Deleted: 1 message\n",
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("mail log lacks %q:\n%s", want, b)
		}
	}
}

func TestCommandErrors(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-x"}, "postsuper: fatal: unknown shorthand flag: 'x' in -x\npostsuper: fatal: usage: postsuper"},
		{[]string{"-d"}, "postsuper: fatal: flag needs an argument: 'd' in -d\n"},
		{[]string{"-d", "ALL", "nosuchqueue"}, "postsuper: fatal: invalid directory name: nosuchqueue\n"},
	} {
		out, err := f.runCommand("", tc.args...)
		if err == nil || !strings.HasPrefix(out, tc.want) {
			t.Errorf("%q: %v, %q; want %q", tc.args, err, out, tc.want)
		}
		if st, ok := err.(interface{ ExitStatus() int }); !ok || st.ExitStatus() != 1 {
			t.Errorf("%q: error %T without exit status 1", tc.args, err)
		}
	}
	cmd := Command()
	var out bytes.Buffer
	cmd.SetErr(&out)
	cmd.SetArgs([]string{"-c", "relative/dir"})
	if err := cmd.Execute(); err == nil || out.String() != "postsuper: fatal: -c requires absolute pathname\n" {
		t.Errorf("relative -c: %v, %q", err, out.String())
	}
}

func TestCheckUser(t *testing.T) {
	if err := checkUser(0, "nosuchuser", "/nonexistent"); err != nil {
		t.Errorf("root refused: %v", err)
	}
	if err := checkUser(65534, "nobody", "/nonexistent"); err != nil {
		t.Errorf("mail owner refused: %v", err)
	}
	dir := t.TempDir()
	os.Chown(dir, 65533, -1)
	if err := checkUser(65533, "nosuchuser", dir); err != nil && os.Getuid() == 0 {
		t.Errorf("owner of the queue directory refused: %v", err)
	}
	if err := checkUser(65534, "nosuchuser", "/"); err == nil || err.Error() != "use of this command is reserved for the superuser" {
		t.Errorf("stranger: %v", err)
	}
}
