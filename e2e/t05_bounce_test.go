package e2e

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/postern-mta/postern/internal/mtatest"
)

// t05: a local user writes to a remote address the remote server refuses
// with 550; the non-delivery report comes back from MAILER-DAEMON into
// the user's mbox, says what the remote server said, and carries the
// original message.
func TestT05BounceToSendersMailbox(t *testing.T) {
	t.Parallel()
	in := newInstance(t)
	u := makeAccount(t, in, "pte2e05")
	sink := mtatest.NewSink(t)
	sink.RcptReply(func(rcpt string) *smtp.SMTPError {
		if rcpt == "gone@remote.test" {
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "<gone@remote.test>: Recipient address rejected: User unknown"}
		}
		return nil
	})
	in.Set("relayhost", bracketed(sink.Addr))
	in.Start()

	sender := u.Name + "@mx.example.test"
	msg := "From: " + sender + "\nTo: gone@remote.test\nSubject: t05 original\nMessage-ID: <t05@mx.example.test>\n\nare you there?\n"
	if err := send(t, in.SMTPAddr, sender, []string{"gone@remote.test"}, crlf(msg)); err != nil {
		t.Fatalf("SMTP: %s", reply(err))
	}
	line := in.WaitLog(`postern/smtp\[\d+\]: (\w+): to=<gone@remote\.test>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:\d+, delay=[\d.]+, delays=[\d./]+, dsn=5\.1\.1, status=bounced \(host 127\.0\.0\.1\[127\.0\.0\.1\] said: 550 5\.1\.1 <gone@remote\.test>: Recipient address rejected: User unknown \(in reply to RCPT TO command\)\)`, 20*time.Second)
	orig := regexp.MustCompile(`: (\w+): to=`).FindStringSubmatch(line)[1]
	ndr := regexp.MustCompile(`postern/bounce\[\d+\]: ` + orig + `: sender non-delivery notification: (\w+)`).FindStringSubmatch(
		in.WaitLog(`postern/bounce\[\d+\]: `+orig+`: sender non-delivery notification: \w+`, 20*time.Second))[1]
	in.WaitLog(`postern/local\[\d+\]: `+ndr+`: to=<`+sender+`>, relay=local, delay=[\d.]+, delays=[\d./]+, dsn=2\.0\.0, status=sent \(delivered to mailbox\)`, 20*time.Second)
	in.WaitLog(`postern/qmgr\[\d+\]: `+ndr+`: from=<>, size=\d+, nrcpt=1 \(queue active\)`, time.Second)

	mbox := readFile(t, filepath.Join(in.MailDir, "spool", u.Name))
	for _, want := range []string{
		`^From MAILER-DAEMON  \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}\n`,
		`\nReturn-Path: <>\n`,
		`\nDelivered-To: ` + sender + `\n`,
		`\nFrom: Mail Delivery System <MAILER-DAEMON@mx\.example\.test>\n`,
		`\nSubject: Undelivered Mail Returned to Sender\n`,
		`\nTo: ` + sender + `\n`,
		`\nAuto-Submitted: auto-replied\n`,
		`\nContent-Type: multipart/report; report-type=delivery-status;\n\tboundary="` + orig + `\.\d+/mx\.example\.test"\n`,
		`\n<gone@remote\.test>: host 127\.0\.0\.1\[127\.0\.0\.1\] said: 550 5\.1\.1\n    <gone@remote\.test>: Recipient address rejected: User unknown \(in reply to\n    RCPT TO command\)\n`,
		`\nReporting-MTA: dns; mx\.example\.test\nX-Postfix-Queue-ID: ` + orig + `\nX-Postfix-Sender: rfc822; ` + sender + `\n`,
		`\nFinal-Recipient: rfc822; gone@remote\.test\nOriginal-Recipient: rfc822;gone@remote\.test\nAction: failed\nStatus: 5\.1\.1\nRemote-MTA: dns; 127\.0\.0\.1\nDiagnostic-Code: smtp; 550 5\.1\.1 <gone@remote\.test>: Recipient address\n    rejected: User unknown\n`,
		`\nContent-Type: message/rfc822\n(.*\n)*Return-Path: <` + sender + `>\n(.*\n)*Subject: t05 original\n(.*\n)*\nare you there\?\n`,
	} {
		if !regexp.MustCompile(want).MatchString(mbox) {
			t.Errorf("the report in the sender's mailbox lacks %s", want)
		}
	}
	if t.Failed() {
		t.Logf("mailbox:\n%s", mbox)
	}
	if strings.Count(mbox, "\nFrom ") != 0 {
		t.Errorf("the mailbox holds more than the report:\n%s", mbox)
	}
	if n := sink.Count(); n != 0 {
		t.Errorf("the remote server got %d messages, want none", n)
	}
}
