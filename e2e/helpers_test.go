package e2e

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/postern-mta/postern/internal/mtatest"
)

// root says whether the scenarios run as root: then daemons drop to
// mail_owner and mail is delivered as accounts the tests create.
var root = os.Geteuid() == 0

// newInstance prepares an instance for a scenario: no system alias
// database (the test machine may have none) and a mail spool every user
// may write, as /var/mail is on most systems.
func newInstance(t *testing.T) *mtatest.Instance {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end scenario skipped with -short")
	}
	in := mtatest.New(t)
	in.Set("alias_maps", "")
	in.Set("alias_database", "")
	in.Set("biff", "no")
	spool := filepath.Join(in.MailDir, "spool")
	if err := os.MkdirAll(spool, 0o755); err != nil {
		t.Fatal(err)
	}
	os.Chmod(spool, 0o1777)
	return in
}

// bracketed turns "host:port" into the "[host]:port" next hop that skips
// MX lookups.
func bracketed(addr string) string {
	h, p, _ := net.SplitHostPort(addr)
	return "[" + h + "]:" + p
}

// crlf turns a message written with LF into what goes over SMTP.
func crlf(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

// reply is an SMTP error the way the client saw it: "550 5.7.1 text".
// A nil error is "ok"; an error without an SMTP reply is its text.
func reply(err error) string {
	if err == nil {
		return "ok"
	}
	var se *smtp.SMTPError
	if !errors.As(err, &se) {
		return err.Error()
	}
	e := se.EnhancedCode
	if e == smtp.NoEnhancedCode || e == (smtp.EnhancedCode{}) {
		return fmt.Sprintf("%d %s", se.Code, se.Message)
	}
	return fmt.Sprintf("%d %d.%d.%d %s", se.Code, e[0], e[1], e[2], se.Message)
}

// clientTimeout bounds every command of the test's SMTP clients.
const clientTimeout = 30 * time.Second

// connect opens an SMTP session to addr and says EHLO.
func connect(addr string) (*smtp.Client, error) {
	c, err := smtp.Dial(addr)
	if err != nil {
		return nil, err
	}
	c.CommandTimeout, c.SubmissionTimeout = clientTimeout, clientTimeout
	if err := c.Hello("client.example.test"); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// dial is connect for a test: the session is closed when the test ends.
func dial(t *testing.T, addr string) *smtp.Client {
	t.Helper()
	c, err := connect(addr)
	if err != nil {
		t.Fatalf("SMTP session with %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// send sends one message in a session of its own.
func send(t *testing.T, addr, from string, to []string, msg string) error {
	t.Helper()
	c := dial(t, addr)
	defer c.Close()
	err := mtatest.SendOn(c, from, to, msg)
	c.Quit()
	return err
}

// readFile returns a file's content or fails the test.
func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// waitGlob waits until pattern matches exactly n non-empty files and
// returns them.
func waitGlob(t *testing.T, pattern string, n int) []string {
	t.Helper()
	var files []string
	mtatest.WaitFor(t, 20*time.Second, fmt.Sprintf("%d file(s) matching %s", n, pattern), func() bool {
		files, _ = filepath.Glob(pattern)
		if len(files) != n {
			return false
		}
		for _, f := range files {
			if fi, err := os.Stat(f); err != nil || fi.Size() == 0 {
				return false
			}
		}
		return true
	})
	return files
}

// account is a system account mail is delivered to.
type account struct {
	Name     string
	UID, GID int
	Home     string
}

// makeAccount creates the account name (useradd) with its home in the
// instance directory, and deletes it when the test ends. It needs root;
// a test that calls it without root is skipped.
func makeAccount(t *testing.T, in *mtatest.Instance, name string) account {
	t.Helper()
	if !root {
		t.Skip("needs root to create the account mail is delivered to")
	}
	home := filepath.Join(in.Dir, "home", name)
	if err := os.MkdirAll(filepath.Dir(home), 0o755); err != nil {
		t.Fatal(err)
	}
	args := []string{"--no-create-home", "--home-dir", home, "--shell", "/bin/sh", "--user-group", name}
	if _, err := user.Lookup(name); err == nil {
		// Left by an earlier run that was killed: reuse it.
		args = []string{"--home", home, name}
		passwd(t, "usermod", args...)
	} else {
		passwd(t, "useradd", args...)
	}
	t.Cleanup(func() { exec.Command("userdel", name).Run() })
	u, err := user.Lookup(name)
	if err != nil {
		t.Fatalf("look up %s after useradd: %v", name, err)
	}
	a := account{Name: name, Home: home}
	a.UID, _ = strconv.Atoi(u.Uid)
	a.GID, _ = strconv.Atoi(u.Gid)
	if err := os.Mkdir(home, 0o755); err != nil {
		t.Fatal(err)
	}
	os.Chown(home, a.UID, a.GID)
	return a
}

// passwd runs useradd or usermod, again while another process holds the
// password file's lock (other test packages create accounts too).
func passwd(t *testing.T, cmd string, args ...string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, err := exec.Command(cmd, args...).CombinedOutput()
		if err == nil {
			return
		}
		if !strings.Contains(string(out), "lock") || time.Now().After(deadline) {
			t.Fatalf("%s %s: %v: %s", cmd, strings.Join(args, " "), err, out)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
