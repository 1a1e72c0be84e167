package mtatest

import (
	"strings"
	"testing"
	"time"

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

// SendOn sends one message on an open session and returns the reply to the
// first command that failed (nil when the message was queued); a refused
// recipient resets the transaction, so the session can go on.
func SendOn(c *smtp.Client, from string, to []string, msg string) error {
	if err := c.Mail(from, nil); err != nil {
		return err
	}
	for _, r := range to {
		if err := c.Rcpt(r, nil); err != nil {
			c.Reset()
			return err
		}
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write([]byte(msg)); err != nil {
		return err
	}
	return w.Close()
}

// Send sends one message to addr in a session of its own (EHLO
// client.example.test) and returns what SendOn returns. Failing to connect
// or to greet fails the test.
func Send(t testing.TB, addr, from string, to []string, msg string) error {
	t.Helper()
	c, err := smtp.Dial(addr)
	if err != nil {
		t.Fatalf("connect to %s: %v", addr, err)
	}
	defer c.Close()
	c.CommandTimeout, c.SubmissionTimeout = time.Minute, time.Minute
	if err := c.Hello("client.example.test"); err != nil {
		t.Fatalf("EHLO: %v", err)
	}
	err = SendOn(c, from, to, msg)
	c.Quit()
	return err
}
