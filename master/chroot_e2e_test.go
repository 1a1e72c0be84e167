package master_test

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/postern-mta/postern/internal/mtatest"
)

// chrootAll sets the chroot column of every service but local and
// virtual, which are never chrooted.
func chrootAll(masterCF string) string {
	var out []string
	for _, line := range strings.Split(masterCF, "\n") {
		f := strings.Fields(line)
		if len(f) >= 8 && !strings.HasPrefix(f[0], "#") && f[7] != "local" && f[7] != "virtual" {
			f[4] = "y"
			line = strings.Join(f, " ")
		}
		out = append(out, line)
	}
	return strings.Join(out, "\n")
}

// rcptReply opens a session, offers one recipient and returns the reply
// ("ok" or "550 5.7.1 text").
func rcptReply(t *testing.T, addr, from, rcpt string) string {
	t.Helper()
	c, err := smtp.Dial(addr)
	if err != nil {
		t.Fatalf("connect to %s: %v", addr, err)
	}
	defer c.Close()
	c.CommandTimeout = 30 * time.Second
	if err := c.Hello("client.example.test"); err != nil {
		t.Fatalf("EHLO: %v", err)
	}
	if err := c.Mail(from, nil); err != nil {
		t.Fatalf("MAIL: %v", err)
	}
	err = c.Rcpt(rcpt, nil)
	c.Quit()
	var se *smtp.SMTPError
	switch {
	case err == nil:
		return "ok"
	case errors.As(err, &se):
		e := se.EnhancedCode
		return fmt.Sprintf("%d %d.%d.%d %s", se.Code, e[0], e[1], e[2], se.Message)
	}
	return err.Error()
}

// The chroot column: smtpd, pickup, cleanup, qmgr, bounce, showq and the
// smtp agent run chrooted in the queue directory as mail_owner while mail
// flows — relayed to a relayhost, delivered by virtual (unchrooted) to a
// Maildir, bounced — and a table outside the jail, opened before the
// chroot, still decides; when it is rebuilt, smtpd restarts to load it.
func TestChrootedServices(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("chroot needs root")
	}
	t.Parallel()
	in := mtatest.New(t)
	sink := mtatest.NewSink(t)
	sink.RcptReply(func(rcpt string) *smtp.SMTPError {
		if rcpt == "refused@remote.test" {
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user here"}
		}
		return nil
	})
	host, port, _ := strings.Cut(sink.Addr, ":")
	in.Set("relayhost", "["+host+"]:"+port)
	in.Set("alias_maps", "")
	in.Set("alias_database", "")

	base := filepath.Join(in.Dir, "vmail")
	const vuid = 40001 // virtual(8) refuses to deliver as root
	if err := os.MkdirAll(filepath.Join(base, "virt.test"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.Chown(filepath.Join(base, "virt.test"), vuid, vuid)
	in.Set("virtual_mailbox_domains", "virt.test")
	in.Set("virtual_mailbox_base", base)
	in.Set("virtual_mailbox_maps", "inline:{{bob@virt.test=virt.test/bob/}, {carol@virt.test=virt.test/carol/}}")
	in.Set("virtual_uid_maps", "static:"+strconv.Itoa(vuid))
	in.Set("virtual_gid_maps", "static:"+strconv.Itoa(vuid))
	in.Set("virtual_minimum_uid", "100")

	// A table in the configuration directory, outside the jail.
	access := in.WriteFile("etc/access", "blocked@remote.test REJECT not this one\n")
	if res := in.Run("postmap", access); res.Exit != 0 {
		t.Fatalf("postmap: %s", res.Stderr)
	}
	in.Set("smtpd_recipient_restrictions", "check_recipient_access hash:"+access+", permit_mynetworks, reject_unauth_destination")
	in.SetMasterCF(chrootAll(in.MasterCF()))
	in.Start()

	if got := rcptReply(t, in.SMTPAddr, "bob@virt.test", "blocked@remote.test"); got != "554 5.7.1 <blocked@remote.test>: Recipient address rejected: not this one" {
		t.Errorf("RCPT TO a recipient the access table refuses: %s", got)
	}
	in.SubmitSMTP(t, "bob@virt.test", []string{"good@remote.test", "refused@remote.test", "carol@virt.test"},
		"From: bob@virt.test\r\nSubject: jailed\r\n\r\nfrom inside\r\n")
	// Through pickup (maildrop) too.
	if res := in.RunInput("Subject: dropped\n\nvia sendmail\n", "sendmail", "-f", "bob@virt.test", "carol@virt.test"); res.Exit != 0 {
		t.Fatalf("sendmail: exit %d: %s", res.Exit, res.Stderr)
	}

	mtatest.WaitFor(t, 20*time.Second, "the relayed message at the relayhost", func() bool { return sink.Count() == 1 })
	if m := sink.Messages()[0]; strings.Join(m.To, ",") != "good@remote.test" || !strings.Contains(string(m.Data), "from inside") {
		t.Errorf("the relayhost got to %v:\n%s", m.To, m.Data)
	}
	carol := waitFiles(t, filepath.Join(base, "virt.test", "carol", "new", "*"), 2)
	bob := waitFiles(t, filepath.Join(base, "virt.test", "bob", "new", "*"), 1)
	bounce, _ := os.ReadFile(bob[0])
	if !strings.Contains(string(bounce), "refused@remote.test") || !strings.Contains(string(bounce), "MAILER-DAEMON") {
		t.Errorf("bob's bounce:\n%s", bounce)
	}
	_ = carol
	// smtpd's reverse lookup of 127.0.0.1 reads the jail's copy of /etc/hosts.
	in.WaitLog(`postern/smtpd\[\d+\]: connect from localhost\[127\.0\.0\.1\]`, time.Second)
	if res := in.Run("postqueue", "-p"); res.Exit != 0 || !strings.Contains(res.Stdout, "Mail queue is empty") {
		t.Errorf("postqueue -p (showq in the jail): exit %d %q %q", res.Exit, res.Stdout, res.Stderr)
	}

	// Every chrooted daemon runs in the jail as mail_owner; virtual does not.
	u, err := user.Lookup(mtatest.MailOwner)
	if err != nil {
		t.Fatal(err)
	}
	owner, _ := strconv.Atoi(u.Uid)
	seen := map[string]bool{}
	for _, p := range processes(t, masterPID(t, in)) {
		root, err := os.Readlink(fmt.Sprintf("/proc/%d/root", p.pid))
		if err != nil {
			t.Fatalf("root of %s: %v", p.daemon, err)
		}
		wantRoot, wantUID := in.QueueDir, owner
		if p.daemon == "master" || p.daemon == "virtual" || p.daemon == "local" {
			wantRoot, wantUID = "/", 0
		}
		if root != wantRoot || p.uid != wantUID {
			t.Errorf("%s (pid %d): root %s uid %d, want %s and %d", p.daemon, p.pid, root, p.uid, wantRoot, wantUID)
		}
		seen[p.daemon] = true
	}
	for _, d := range []string{"smtpd", "pickup", "cleanup", "qmgr", "bounce", "showq", "smtp", "virtual"} {
		if !seen[d] {
			t.Errorf("no %s process seen", d)
		}
	}
	etc, err := os.ReadFile(filepath.Join(in.QueueDir, "etc", "hosts"))
	if real, _ := os.ReadFile("/etc/hosts"); err != nil || string(etc) != string(real) {
		t.Errorf("the jail's etc/hosts differs from /etc/hosts (%v)", err)
	}

	// The table is rebuilt: smtpd cannot reload it inside the jail, so a
	// fresh smtpd takes over.
	in.WriteFile("etc/access", "blocked@remote.test REJECT not this one\nnewly@remote.test REJECT not this one either\n")
	if res := in.Run("postmap", access); res.Exit != 0 {
		t.Fatalf("postmap: %s", res.Stderr)
	}
	in.WaitLog(`postern/smtpd\[\d+\]: table hash:`+regexp.QuoteMeta(access)+` has changed -- restarting`, 10*time.Second)
	mtatest.WaitFor(t, 10*time.Second, "the rebuilt table in smtpd", func() bool {
		return rcptReply(t, in.SMTPAddr, "bob@virt.test", "newly@remote.test") == "554 5.7.1 <newly@remote.test>: Recipient address rejected: not this one either"
	})
	if bad := regexp.MustCompile(`(?m)^.*postern/\w+\[\d+\]: (warning|error|fatal|panic): .*$`).FindAllString(in.Log(), -1); len(bad) > 0 {
		t.Errorf("problems logged:\n%s", strings.Join(bad, "\n"))
	}
}

// waitFiles waits until pattern matches n files and returns them.
func waitFiles(t *testing.T, pattern string, n int) []string {
	t.Helper()
	var files []string
	mtatest.WaitFor(t, 20*time.Second, fmt.Sprintf("%d files matching %s", n, pattern), func() bool {
		files, _ = filepath.Glob(pattern)
		return len(files) >= n
	})
	return files
}

// Something else where the jail needs its link to its root stops the
// start with the reason.
func TestChrootJailConflict(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("chroot needs root")
	}
	t.Parallel()
	in := mtatest.New(t)
	in.SetMasterCF(chrootAll(in.MasterCF()))
	link := filepath.Join(in.QueueDir, strings.TrimPrefix(in.QueueDir, "/"))
	if err := os.MkdirAll(link, 0o755); err != nil {
		t.Fatal(err)
	}
	in.WriteConfig()
	res := in.Run("postfix", "start")
	t.Logf("postfix start: %s", res.Stderr)
	want := link + " exists and is not a symbolic link to "
	if res.Exit == 0 || !strings.Contains(res.Stderr, want) {
		t.Errorf("start with a directory where the link goes: exit %d, %q; want %q", res.Exit, res.Stderr, want)
	}
	if res := in.Run("postfix", "status"); res.Exit != 1 {
		t.Error("master running after a failed start")
	}
}
