package e2e

import (
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/mtatest"
)

// syslogPrefix is the start of every mail log line: "Nov 22 11:07:19
// host postern/smtpd[8381]: ".
const syslogPrefix = `(?m)^[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \S+ postern/`

// t03: mail relayed through relayhost to a remote SMTP server, and the
// mail log lines pflogsumm and other Postfix log readers parse, whole and
// once each; and, when pflogsumm is installed, its report of the log.
func TestT03RelayhostLogLines(t *testing.T) {
	t.Parallel()
	in := newInstance(t)
	sink := mtatest.NewSink(t)
	in.Set("relayhost", bracketed(sink.Addr))
	in.Start()

	msg := "From: alice@client.example.test\nTo: bob@remote.test, carol@remote.test\nSubject: t03\nMessage-ID: <t03@client.example.test>\n\nrelay me\n"
	c := dial(t, in.SMTPAddr)
	if err := mtatest.SendOn(c, "alice@client.example.test", []string{"bob@remote.test", "carol@remote.test"}, crlf(msg)); err != nil {
		t.Fatalf("SMTP: %s", reply(err))
	}
	if err := c.Quit(); err != nil {
		t.Fatalf("QUIT: %v", err)
	}
	in.WaitLog(`: removed`, 20*time.Second)
	// smtpd may log the disconnect after qmgr is done.
	in.WaitLog(`postern/smtpd\[\d+\]: disconnect from`, 5*time.Second)

	if n := sink.Count(); n != 1 {
		t.Fatalf("the relayhost got %d messages, want 1 (both recipients in one transaction)", n)
	}
	m := sink.Messages()[0]
	if m.From != "alice@client.example.test" || strings.Join(m.To, ",") != "bob@remote.test,carol@remote.test" ||
		!strings.HasSuffix(string(m.Data), "\r\n\r\nrelay me\r\n") {
		t.Errorf("the relayhost got from <%s> to %v:\n%s", m.From, m.To, m.Data)
	}

	log := in.Log()
	id := regexp.MustCompile(`postern/smtpd\[\d+\]: (\w+): client=`).FindStringSubmatch(log)
	if id == nil {
		t.Fatalf("no client= line:\n%s", log)
	}
	q := id[1]
	relay := regexp.QuoteMeta(`relay=127.0.0.1[127.0.0.1]:` + strings.TrimPrefix(sink.Addr, "127.0.0.1:"))
	sent := `, delay=\d+(\.\d+)?, delays=\d+(\.\d+)?/\d+(\.\d+)?/\d+(\.\d+)?/\d+(\.\d+)?, dsn=2\.0\.0, status=sent \(250 2\.0\.0 [^)]*\)$`
	want := []string{
		`smtpd\[\d+\]: connect from localhost\[127\.0\.0\.1\]$`,
		`smtpd\[\d+\]: ` + q + `: client=localhost\[127\.0\.0\.1\]$`,
		`cleanup\[\d+\]: ` + q + `: message-id=<t03@client\.example\.test>$`,
		`qmgr\[\d+\]: ` + q + `: from=<alice@client\.example\.test>, size=\d+, nrcpt=2 \(queue active\)$`,
		`smtp\[\d+\]: ` + q + `: to=<bob@remote\.test>, ` + relay + sent,
		`smtp\[\d+\]: ` + q + `: to=<carol@remote\.test>, ` + relay + sent,
		`qmgr\[\d+\]: ` + q + `: removed$`,
	}
	// Lines of different daemons reach master through different pipes,
	// so their order in the file is not checked.
	for _, w := range want {
		if n := len(regexp.MustCompile(syslogPrefix+w).FindAllString(log, -1)); n != 1 {
			t.Errorf("%d lines match %s, want 1", n, w)
		}
	}
	disc := regexp.MustCompile(syslogPrefix + `smtpd\[\d+\]: disconnect from localhost\[127\.0\.0\.1\] ehlo=1 mail=1 rcpt=2 data=1 quit=1 commands=6$`)
	if !disc.MatchString(log) {
		t.Errorf("no disconnect line with the command counts")
	}
	if t.Failed() {
		t.Logf("mail log:\n%s", log)
	}

	// pflogsumm, when installed, reads the log as a Postfix log.
	if _, err := exec.LookPath("pflogsumm"); err != nil {
		t.Log("pflogsumm not installed: the log is checked by the regexps above only")
		return
	}
	out, err := exec.Command("pflogsumm", "--syslog-name=postern", "--smtpd-stats", in.LogFile).CombinedOutput()
	if err != nil {
		t.Fatalf("pflogsumm: %v\n%s", err, out)
	}
	for _, w := range []string{
		`(?m)^ +1 +received$`,
		`(?m)^ +2 +delivered$`,
		`(?m)^ +0 +bounced$`,
		`(?m)^ +1 +senders$`,
		`(?m)^ +1 +connections$`,
		`(?m)^ +2 +recipients$`,
		`(?m)^ +2 +\d+ +0 +[\d.]+ s +[\d.]+ s +remote\.test$`,
		`(?m)^ +1 +\d+k? +client\.example\.test$`,
	} {
		if !regexp.MustCompile(w).Match(out) {
			t.Errorf("pflogsumm's report lacks %s:\n%s", w, out)
		}
	}
}
