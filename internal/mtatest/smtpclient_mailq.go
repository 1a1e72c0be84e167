package mtatest

import (
	"strings"
	"testing"

	"github.com/emersion/go-smtp"
)

// SubmitSMTP sends one message to the instance's SMTP service and returns the
// queue ID from the "250 2.0.0 Ok: queued as ID" reply. from may be "" (the
// null sender). content uses CRLF or LF line ends.
func (in *Instance) SubmitSMTP(t testing.TB, from string, to []string, content string) string {
	t.Helper()
	c, err := smtp.Dial(in.SMTPAddr)
	if err != nil {
		t.Fatalf("connect to %s: %v", in.SMTPAddr, err)
	}
	defer c.Close()
	if err := c.Hello("client.example.test"); err != nil {
		t.Fatalf("EHLO: %v", err)
	}
	if err := c.Mail(from, nil); err != nil {
		t.Fatalf("MAIL FROM:<%s>: %v", from, err)
	}
	for _, r := range to {
		if err := c.Rcpt(r, nil); err != nil {
			t.Fatalf("RCPT TO:<%s>: %v", r, err)
		}
	}
	w, err := c.Data()
	if err != nil {
		t.Fatalf("DATA: %v", err)
	}
	if _, err := w.Write([]byte(content)); err != nil {
		t.Fatalf("send content: %v", err)
	}
	resp, err := w.CloseWithResponse()
	if err != nil {
		t.Fatalf("end of DATA: %v", err)
	}
	c.Quit()
	_, id, ok := strings.Cut(resp.StatusText, "queued as ")
	if !ok {
		t.Fatalf("end of DATA: reply %q has no queue ID", resp.StatusText)
	}
	return strings.TrimSpace(id)
}
