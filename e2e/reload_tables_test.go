package e2e

import (
	"os"
	"regexp"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/postern-mta/postern/internal/mtatest"
)

// Issue 6, items 6 and 9: daemons see a rebuilt .db or an edited regexp
// file within seconds, without a restart and without dropping sessions.
//
// The instance checks recipients against a hash: access table and
// headers against a regexp: file. Sessions opened before the change stay
// open across it; on those same sessions the new rule starts to apply,
// and every process that ran before the change still runs after it.
func TestTablesReloadUnderOpenSessions(t *testing.T) {
	t.Parallel()
	in := newInstance(t)
	sink := mtatest.NewSink(t)
	in.Set("relayhost", bracketed(sink.Addr))
	access := in.WriteFile("etc/access", "# nobody refused yet\nfriend@remote.test OK\n")
	postmap(t, in, access)
	in.Set("smtpd_recipient_restrictions", "check_recipient_access hash:"+access+", permit_mynetworks, reject_unauth_destination")
	checks := in.WriteFile("etc/header_checks", "/^Subject:.*no such subject/ REJECT\n")
	in.Set("header_checks", "regexp:"+checks)
	in.Start()

	var sessions []*smtp.Client
	for range 3 {
		sessions = append(sessions, dial(t, in.SMTPAddr))
	}
	// One message through each session, so that smtpd, cleanup, qmgr and
	// the smtp agent all run (and have the tables open) before anything
	// changes.
	for i, c := range sessions {
		if err := mtatest.SendOn(c, "alice@client.example.test", []string{"victim@remote.test"}, offer(i)); err != nil {
			t.Fatalf("session %d, before any change: %s", i, reply(err))
		}
	}
	mtatest.WaitFor(t, 10*time.Second, "the first messages at the sink", func() bool { return sink.Count() == len(sessions) })
	before := procs(t, in)
	for _, cmd := range []string{"smtpd", "cleanup", "qmgr", "smtp"} {
		if len(pidsOf(t, in, cmd)) == 0 {
			t.Fatalf("no %s running before the change: %v", cmd, sortedProcs(before))
		}
	}

	t.Run("hash rebuilt by postmap", func(t *testing.T) {
		in.WriteFile("etc/access", "friend@remote.test OK\nvictim@remote.test REJECT no longer accepted here\n")
		postmap(t, in, access)
		changed := time.Now()
		const want = "554 5.7.1 <victim@remote.test>: Recipient address rejected: no longer accepted here"
		for i, c := range sessions {
			mtatest.WaitFor(t, 5*time.Second, "the new access rule on open session "+itoa(i), func() bool {
				got := rcptReply(t, c, "victim@remote.test")
				if got != "ok" && got != want {
					t.Fatalf("session %d: RCPT got %q, want %q (or 250 until the reload)", i, got, want)
				}
				return got == want
			})
			t.Logf("session %d refuses the recipient %v after postmap", i, time.Since(changed).Round(time.Millisecond))
			if got := rcptReply(t, c, "friend@remote.test"); got != "ok" {
				t.Errorf("session %d: RCPT of a recipient the table still accepts: %s", i, got)
			}
		}
		stillOpen(t, sessions)
		sameProcs(t, before, procs(t, in))
	})

	t.Run("regexp edited in place", func(t *testing.T) {
		ino := inode(t, checks)
		f, err := os.OpenFile(checks, os.O_WRONLY|os.O_TRUNC, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteString("/^Subject:.*offer/ REJECT Subject not allowed\n"); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		if inode(t, checks) != ino {
			t.Fatal("the header_checks file was replaced, not edited in place")
		}
		changed := time.Now()
		const want = "550 5.7.1 Subject not allowed"
		c := sessions[0]
		through := 0
		mtatest.WaitFor(t, 5*time.Second, "the new header check on an open session", func() bool {
			got := reply(mtatest.SendOn(c, "alice@client.example.test", []string{"friend@remote.test"}, offer(100+through)))
			switch got {
			case want:
				return true
			case "ok":
				through++
				return false
			}
			t.Fatalf("end of DATA got %q, want %q (or 250 until the reload)", got, want)
			return false
		})
		t.Logf("the header check applies %v after the edit (%d messages went through meanwhile)",
			time.Since(changed).Round(time.Millisecond), through)
		// The session goes on: a message the rule does not match is queued.
		if err := mtatest.SendOn(c, "alice@client.example.test", []string{"friend@remote.test"}, "Subject: hello\r\n\r\nbody\r\n"); err != nil {
			t.Errorf("a message the new rule does not match, after the reject: %s", reply(err))
		}
		in.WaitLog(`postern/cleanup\[\d+\]: \w+: reject: header Subject: cheap offer \d+ from \S+\[127\.0\.0\.1\]; from=<alice@client\.example\.test> to=<friend@remote\.test> proto=ESMTP helo=<client\.example\.test>: 5\.7\.1 Subject not allowed`, 5*time.Second)
		stillOpen(t, sessions)
		sameProcs(t, before, procs(t, in))
	})

	for _, c := range sessions {
		if err := c.Quit(); err != nil {
			t.Errorf("QUIT: %v", err)
		}
	}
	if m := regexp.MustCompile(`postern/master\[\d+\]: warning: process .*`).FindString(in.Log()); m != "" {
		t.Errorf("a daemon died: %s", m)
	}
}

// offer is a message whose subject the edited header_checks refuses.
func offer(n int) string {
	return "From: alice@client.example.test\r\nTo: victim@remote.test\r\nSubject: cheap offer " + itoa(n) + "\r\n\r\nbody\r\n"
}

// postmap builds path.db.
func postmap(t *testing.T, in *mtatest.Instance, path string) {
	t.Helper()
	if res := in.Run("postmap", path); res.Exit != 0 || res.Stderr != "" {
		t.Fatalf("postmap %s: exit %d: %s", path, res.Exit, res.Stderr)
	}
}

// rcptReply starts a transaction on an open session, returns the reply
// to RCPT, and resets the session.
func rcptReply(t *testing.T, c *smtp.Client, rcpt string) string {
	t.Helper()
	if err := c.Mail("alice@client.example.test", nil); err != nil {
		t.Fatalf("MAIL on an open session: %s", reply(err))
	}
	got := reply(c.Rcpt(rcpt, nil))
	if err := c.Reset(); err != nil {
		t.Fatalf("RSET on an open session: %s", reply(err))
	}
	return got
}

// stillOpen checks that each session still answers.
func stillOpen(t *testing.T, sessions []*smtp.Client) {
	t.Helper()
	for i, c := range sessions {
		if err := c.Noop(); err != nil {
			t.Errorf("session %d was dropped: NOOP: %v", i, err)
		}
	}
}

func inode(t *testing.T, path string) uint64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t).Ino
}
