package e2e

import (
	"regexp"
	"testing"
	"time"
)

// t04: with the default local_recipient_maps (the password file and the
// aliases), a recipient that is neither a user nor an alias of this
// machine is refused at RCPT with 550 5.1.1, logged as a NOQUEUE reject,
// and the session goes on: users and aliases are still accepted.
func TestT04UnknownLocalUser(t *testing.T) {
	t.Parallel()
	in := newInstance(t)
	aliases := in.WriteFile("etc/aliases", "postmaster: root\nabuse: postmaster\n")
	if res := in.Run("postalias", aliases); res.Exit != 0 || res.Stderr != "" {
		t.Fatalf("postalias: exit %d: %s", res.Exit, res.Stderr)
	}
	in.Set("alias_maps", "hash:"+aliases)
	in.Set("alias_database", "hash:"+aliases)
	in.Start()

	c := dial(t, in.SMTPAddr)
	if err := c.Mail("alice@client.example.test", nil); err != nil {
		t.Fatalf("MAIL: %s", reply(err))
	}
	const want = "550 5.1.1 <nosuchuser@mx.example.test>: Recipient address rejected: User unknown in local recipient table"
	if got := reply(c.Rcpt("nosuchuser@mx.example.test", nil)); got != want {
		t.Errorf("RCPT of an unknown user: %s\nwant: %s", got, want)
	}
	for _, ok := range []string{"abuse@mx.example.test", "root@mx.example.test"} {
		if err := c.Rcpt(ok, nil); err != nil {
			t.Errorf("RCPT TO:<%s> after the reject: %s", ok, reply(err))
		}
	}
	if err := c.Reset(); err != nil {
		t.Fatal(err)
	}
	if err := c.Quit(); err != nil {
		t.Fatal(err)
	}

	in.WaitLog(syslogPrefix+`smtpd\[\d+\]: NOQUEUE: reject: RCPT from localhost\[127\.0\.0\.1\]: `+regexp.QuoteMeta(want)+
		`; from=<alice@client\.example\.test> to=<nosuchuser@mx\.example\.test> proto=ESMTP helo=<client\.example\.test>$`, 5*time.Second)
	// go-smtp's client says EHLO again after RSET.
	in.WaitLog(syslogPrefix+`smtpd\[\d+\]: disconnect from localhost\[127\.0\.0\.1\] ehlo=2 mail=1 rcpt=2/3 rset=1 quit=1 commands=7/8$`, 5*time.Second)
	if regexp.MustCompile(`: client=`).MatchString(in.Log()) {
		t.Error("a queue file was made for a transaction without DATA")
	}
}
