package cleanup_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/postern-mta/postern/internal/mtatest"
	"github.com/postern-mta/postern/internal/proto"
)

// The end-to-end scenarios run the real binaries (master, smtpd,
// cleanup, pickup, qmgr, smtp, bounce) and relay every message to an
// SMTP sink on loopback.

func newInstance(t *testing.T) (*mtatest.Instance, *mtatest.Sink) {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	in := mtatest.New(t)
	sink := mtatest.NewSink(t)
	in.Set("relayhost", "["+strings.Replace(sink.Addr, ":", "]:", 1))
	in.Set("mydestination", "")
	in.Set("alias_maps", "")
	in.Set("alias_database", "")
	in.Set("local_recipient_maps", "")
	in.Set("smtpd_peername_lookup", "no")
	return in, sink
}

func smtpCode(err error) int {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		return se.Code
	}
	return 0
}

// reply is an SMTP error as the client saw it: "550 5.7.1 text".
func reply(err error) string {
	var se *smtp.SMTPError
	if !errors.As(err, &se) {
		return fmt.Sprint(err)
	}
	e := se.EnhancedCode
	return fmt.Sprintf("%d %d.%d.%d %s", se.Code, e[0], e[1], e[2], se.Message)
}

func writeTable(t *testing.T, in *mtatest.Instance, name, content string) string {
	return in.WriteFile(name, content)
}

// header_checks REJECT: an SMTP client gets "550 5.7.1 text" at the end
// of DATA and nothing is queued; a local submission is bounced to its
// sender with the headers of the message.
//
// hopcount_limit: a message with too many Received: headers is refused.
func TestHeaderChecksReject(t *testing.T) {
	in, sink := newInstance(t)
	checks := writeTable(t, in, "header_checks", "/^Subject:.*reject-me/ REJECT Subject not allowed\n")
	in.Set("header_checks", "regexp:"+checks)
	in.Set("hopcount_limit", "5")
	in.Start()

	msg := strings.Repeat("Received: from a by b; Sun, 22 Nov 2026 11:07:19 +0000\r\n", 5) + "Subject: loop\r\n\r\nbody\r\n"
	if got := reply(mtatest.Send(t, in.SMTPAddr, "alice@remote.test", []string{"bob@remote.test"}, msg)); got != "554 5.4.0 Error: too many hops" {
		t.Errorf("too many hops: %s, want 554 5.4.0 Error: too many hops", got)
	}

	err := mtatest.Send(t, in.SMTPAddr, "alice@remote.test", []string{"bob@remote.test"}, "Subject: please reject-me\r\n\r\nbody\r\n")
	if got := reply(err); got != "550 5.7.1 Subject not allowed" {
		t.Fatalf("SMTP: %s, want 550 5.7.1 Subject not allowed", got)
	}
	in.WaitLog(`postern/cleanup\[\d+\]: \S+: reject: header Subject: please reject-me from \S+\[127\.0\.0\.1\]; from=<alice@remote\.test> to=<bob@remote\.test> proto=ESMTP helo=<client\.example\.test>: 5\.7\.1 Subject not allowed`, 5*time.Second)

	res := in.RunInput("Subject: reject-me\n\nbody\n", "sendmail", "-f", "alice@remote.test", "bob@remote.test")
	if res.Exit != 0 {
		t.Fatalf("sendmail: %d %s", res.Exit, res.Stderr)
	}
	in.WaitLog(`postern/cleanup\[\d+\]: \S+: reject: header Subject: reject-me from local; from=<alice@remote\.test> to=<bob@remote\.test>: 5\.7\.1 Subject not allowed`, 20*time.Second)
	in.WaitLog(`postern/cleanup\[\d+\]: \S+: to=<bob@remote\.test>, relay=none, delay=[\d.]+, delays=[\d./]+, dsn=5\.7\.1, status=bounced \(Subject not allowed\)`, 5*time.Second)
	mtatest.WaitFor(t, 20*time.Second, "the non-delivery report", func() bool { return sink.Count() >= 1 })
	ndr := sink.Messages()[0]
	if ndr.From != "" || len(ndr.To) != 1 || ndr.To[0] != "alice@remote.test" {
		t.Errorf("report envelope %q -> %q", ndr.From, ndr.To)
	}
	if !bytes.Contains(ndr.Data, []byte("Subject: reject-me")) || bytes.Contains(ndr.Data, []byte("\r\nbody\r\n")) {
		t.Errorf("the report should return the headers only:\n%s", ndr.Data)
	}
}

// masterCFWithout is the test master.cf without some services.
func masterCFWithout(in *mtatest.Instance, names ...string) string {
	var out []string
	for _, l := range strings.Split(mtatest.DefaultMasterCF(in.SMTPAddr), "\n") {
		f := strings.Fields(l)
		skip := false
		for _, n := range names {
			if len(f) > 0 && f[0] == n {
				skip = true
			}
		}
		if !skip {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// A cleanup that is not running: the SMTP client is told to try later.
func TestCleanupDown(t *testing.T) {
	in, _ := newInstance(t)
	in.SetMasterCF(masterCFWithout(in, "cleanup", "local", "virtual", "lmtp"))
	in.Start()
	err := mtatest.Send(t, in.SMTPAddr, "alice@remote.test", []string{"bob@remote.test"}, "Subject: x\r\n\r\nbody\r\n")
	if got := reply(err); !strings.HasPrefix(got, "451 4.3.0 ") {
		t.Fatalf("got %s, want 451 4.3.0", got)
	}
}

// cleanupPIDs finds the cleanup processes of this instance (a child of
// the master the test started, with its MAIL_CONFIG).
func cleanupPIDs(in *mtatest.Instance) []int {
	var pids []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmd, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		env, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if bytes.Contains(cmd, []byte("daemon\x00cleanup")) && bytes.Contains(env, []byte("MAIL_CONFIG="+in.ConfigDir+"\x00")) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// kill -9 of cleanup in the middle of a message: the client gets a
// temporary failure, nothing half-written is queued, and a retry works
// once master has started cleanup again. Then a full queue file system.
func TestCleanupFaults(t *testing.T) {
	in, sink := newInstance(t)
	in.Start()
	t.Run("kill", func(t *testing.T) { cleanupKilled(t, in, sink) })
	t.Run("full", func(t *testing.T) { fullQueue(t, in) })
}

func cleanupKilled(t *testing.T, in *mtatest.Instance, sink *mtatest.Sink) {
	// A first message makes smtpd connect to cleanup.
	if err := mtatest.Send(t, in.SMTPAddr, "alice@remote.test", []string{"bob@remote.test"}, "Subject: first\r\n\r\nbody\r\n"); err != nil {
		t.Fatal(err)
	}
	c, err := smtp.Dial(in.SMTPAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("client.example.test"); err != nil {
		t.Fatal(err)
	}
	if err := c.Mail("alice@remote.test", nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt("bob@remote.test", nil); err != nil {
		t.Fatal(err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(w, "Subject: second\r\n\r\n%s", strings.Repeat("a line of the body\r\n", 2000))
	pids := cleanupPIDs(in)
	if len(pids) == 0 {
		t.Fatal("no cleanup process found")
	}
	for _, pid := range pids {
		syscall.Kill(pid, syscall.SIGKILL) //nolint:errcheck
	}
	fmt.Fprintf(w, "%s", strings.Repeat("more of the body\r\n", 2000))
	err = w.Close()
	if code := smtpCode(err); code < 400 || code >= 500 {
		t.Fatalf("end of DATA after kill -9 of cleanup: %v, want a 4xx", err)
	}
	c.Close()
	// Retry until master has started a new cleanup.
	deadline := time.Now().Add(20 * time.Second)
	for {
		err := mtatest.Send(t, in.SMTPAddr, "alice@remote.test", []string{"bob@remote.test"}, "Subject: retry\r\n\r\nbody\r\n")
		if err == nil {
			break
		}
		if code := smtpCode(err); code < 400 || code >= 500 || time.Now().After(deadline) {
			t.Fatalf("retry: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	mtatest.WaitFor(t, 20*time.Second, "two messages delivered", func() bool { return sink.Count() >= 2 })
	for _, m := range sink.Messages() {
		if bytes.Contains(m.Data, []byte("Subject: second")) {
			t.Errorf("the interrupted message was delivered")
		}
	}
}

// A full queue file system: "452 4.3.1 Insufficient system storage" and
// a warning that says why; mail fits again once there is room.
func fullQueue(t *testing.T, in *mtatest.Instance) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a tmpfs")
	}
	incoming := filepath.Join(in.QueueDir, "incoming")
	opts := "size=128k,mode=0700"
	if u, err := user.Lookup(mtatest.MailOwner); err == nil {
		opts += ",uid=" + u.Uid + ",gid=" + u.Gid
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", opts, "tmpfs", incoming).CombinedOutput(); err != nil {
		t.Skipf("mount tmpfs: %v: %s", err, out)
	}
	defer exec.Command("umount", "-l", incoming).Run() //nolint:errcheck
	// smtpd's kept connection may hold a file cleanup made for the next
	// message on the old file system; it is not used once this old.
	time.Sleep(proto.ReserveFresh)
	big := "Subject: big\r\n\r\n" + strings.Repeat("0123456789abcdef0123456789abcdef\r\n", 8000)
	err := mtatest.Send(t, in.SMTPAddr, "alice@remote.test", []string{"bob@remote.test"}, big)
	if got := reply(err); got != "452 4.3.1 Insufficient system storage" {
		t.Fatalf("got %s, want 452 4.3.1 Insufficient system storage", got)
	}
	in.WaitLog(`postern/cleanup\[\d+\]: warning: \S+: write queue file: .*no space left on device`, 5*time.Second)
	// (qmgr cannot move it out of this separate file system: only its
	// acceptance is checked.)
	if err := mtatest.Send(t, in.SMTPAddr, "alice@remote.test", []string{"bob@remote.test"}, "Subject: small\r\n\r\nbody\r\n"); err != nil {
		t.Fatalf("a small message: %v", err)
	}
}
