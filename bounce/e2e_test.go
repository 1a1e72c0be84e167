package bounce_test

import (
	"fmt"
	"net/smtp"
	"regexp"
	"strings"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"

	"github.com/postern-mta/postern/internal/mtatest"
)

// relayOnly is a service table with what relaying and bouncing need, so
// that the test does not wait on services it does not use.
func relayOnly(smtpAddr string) string {
	return fmt.Sprintf(`%s inet n - n - - smtpd
cleanup   unix  -       -       n       -       0       cleanup
qmgr      unix  n       -       n       1       1       qmgr
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
`, smtpAddr)
}

// startRelay starts an instance that relays everything to a sink, which
// refuses recipients as reply says.
func startRelay(t *testing.T, reply func(rcpt string) *gosmtp.SMTPError, params map[string]string) (*mtatest.Instance, *mtatest.Sink) {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	t.Parallel()
	sink := mtatest.NewSink(t)
	sink.RcptReply(reply)
	in := mtatest.New(t)
	in.SetMasterCF(relayOnly(in.SMTPAddr))
	in.Set("relayhost", "["+strings.Replace(sink.Addr, ":", "]:", 1))
	for k, v := range params {
		in.Set(k, v)
	}
	in.Start()
	return in, sink
}

// waitReport waits for the sink to receive a report from the null sender
// whose subject is subject, and returns its text.
func waitReport(t *testing.T, sink *mtatest.Sink, subject string) string {
	t.Helper()
	var text string
	mtatest.WaitFor(t, 30*time.Second, "a report "+subject, func() bool {
		for _, m := range sink.Messages() {
			if m.From == "" && strings.Contains(string(m.Data), "Subject: "+subject+"\r\n") {
				text = strings.ReplaceAll(string(m.Data), "\r\n", "\n")
				return true
			}
		}
		return false
	})
	return text
}

func mustContain(t *testing.T, text string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !regexp.MustCompile(w).MatchString(text) {
			t.Errorf("report lacks %q:\n%s", w, text)
		}
	}
}

// TestEndToEndRefusedRecipientBounces: mail to a destination that refuses
// one of two recipients is delivered to the other, and the sender gets a
// non-delivery report about the refused one with the remote reply.
func TestEndToEndRefusedRecipientBounces(t *testing.T) {
	in, sink := startRelay(t, func(rcpt string) *gosmtp.SMTPError {
		if strings.HasPrefix(rcpt, "rej1@") {
			return &gosmtp.SMTPError{Code: 550, EnhancedCode: gosmtp.EnhancedCode{5, 1, 1}, Message: "<" + rcpt + ">: Recipient address rejected: User unknown"}
		}
		return nil
	}, nil)
	msg := "From: alice@sender.test\r\nTo: rej1@remote.test, ok@remote.test\r\nSubject: lunch\r\nMessage-Id: <lunch@sender.test>\r\n\r\nFriday?\r\n"
	if err := smtp.SendMail(in.SMTPAddr, nil, "alice@sender.test", []string{"rej1@remote.test", "ok@remote.test"}, []byte(msg)); err != nil {
		t.Fatalf("send: %v", err)
	}
	line := in.WaitLog(`\S+: sender non-delivery notification: \S+`, 30*time.Second)
	qid, _, _ := strings.Cut(line, ":")
	text := waitReport(t, sink, "Undelivered Mail Returned to Sender")
	mustContain(t, text,
		`(?m)^From: Mail Delivery System <MAILER-DAEMON@mx\.example\.test>$`,
		`(?m)^To: alice@sender\.test$`,
		`(?m)^Auto-Submitted: auto-replied$`,
		`boundary="`+qid+`\.\d+/mx\.example\.test"`,
		`(?m)^X-Postfix-Queue-ID: `+qid+`$`,
		`(?m)^X-Postfix-Sender: rfc822; alice@sender\.test$`,
		`(?m)^Final-Recipient: rfc822; rej1@remote\.test$`,
		`(?m)^Action: failed$`,
		`(?m)^Status: 5\.1\.1$`,
		`(?m)^Remote-MTA: dns; `,
		`(?m)^Diagnostic-Code: smtp; 550 5\.1\.1 <rej1@remote\.test>: Recipient address\n    rejected: User unknown$`,
		`(?m)^Content-Type: message/rfc822$`,
		`(?m)^Return-Path: <alice@sender\.test>$`,
		`(?m)^Friday\?$`,
	)
	if strings.Contains(text, "ok@remote.test>:") {
		t.Errorf("the delivered recipient is in the report:\n%s", text)
	}
}

// TestEndToEndLifetimeExpiry: a recipient that is only ever deferred is
// bounced when maximal_queue_lifetime passes, after a delay warning; the
// report keeps the 4.x.x status with Action failed.
func TestEndToEndLifetimeExpiry(t *testing.T) {
	in, sink := startRelay(t, func(rcpt string) *gosmtp.SMTPError {
		if strings.HasPrefix(rcpt, "slow@") {
			return &gosmtp.SMTPError{Code: 450, EnhancedCode: gosmtp.EnhancedCode{4, 2, 0}, Message: "<" + rcpt + ">: Greylisted"}
		}
		return nil
	}, map[string]string{
		"maximal_queue_lifetime": "4s",
		"delay_warning_time":     "1s",
	})
	msg := "From: alice@sender.test\r\nTo: slow@remote.test\r\nSubject: patience\r\n\r\nwaiting\r\n"
	if err := smtp.SendMail(in.SMTPAddr, nil, "alice@sender.test", []string{"slow@remote.test"}, []byte(msg)); err != nil {
		t.Fatalf("send: %v", err)
	}
	warning := waitReport(t, sink, "Delayed Mail (still being retried)")
	mustContain(t, warning,
		`(?m)^Action: delayed$`,
		`(?m)^Status: 4\.2\.0$`,
		`(?m)^Will-Retry-Until: `,
		`(?m)^Content-Type: text/rfc822-headers$`,
	)
	in.WaitLog(`: sender delay notification: \S+`, 5*time.Second)
	text := waitReport(t, sink, "Undelivered Mail Returned to Sender")
	mustContain(t, text,
		`(?m)^Final-Recipient: rfc822; slow@remote\.test$`,
		`(?m)^Action: failed$`,
		`(?m)^Status: 4\.2\.0$`,
		`Greylisted`,
	)
	in.WaitLog(`status=expired, returned to sender`, 5*time.Second)
}

// TestEndToEndNullSenderNotBounced: a bounce that cannot be delivered is
// never bounced back to the null sender; without 2bounce in
// notify_classes it is dropped, and the drop is logged.
func TestEndToEndNullSenderNotBounced(t *testing.T) {
	in, sink := startRelay(t, func(rcpt string) *gosmtp.SMTPError {
		return &gosmtp.SMTPError{Code: 550, EnhancedCode: gosmtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
	}, nil)
	msg := "From: MAILER-DAEMON@sender.test\r\nTo: gone@remote.test\r\nSubject: Undelivered Mail Returned to Sender\r\n\r\nreport\r\n"
	if err := smtp.SendMail(in.SMTPAddr, nil, "", []string{"gone@remote.test"}, []byte(msg)); err != nil {
		t.Fatalf("send: %v", err)
	}
	in.WaitLog(`\S+: undeliverable bounce discarded`, 30*time.Second)
	in.WaitLog(`\S+: removed`, 10*time.Second)
	if n := sink.Count(); n != 0 {
		t.Errorf("the sink received %d messages, want none", n)
	}
}
