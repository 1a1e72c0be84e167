package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// t01: mail over SMTP to a user of this machine (in upper case: local
// parts of local users are folded to lower case) lands in the user's mbox
// in mail_spool_directory, owned by the user, with the From_ line and
// the Return-Path:, X-Original-To: and Delivered-To: headers local adds,
// and body lines starting with "From " quoted.
func TestT01LocalDelivery(t *testing.T) {
	t.Parallel()
	in := newInstance(t)
	u := makeAccount(t, in, "pte2e01")
	in.Start()

	msg := "From: Alice <alice@client.example.test>\nTo: " + u.Name + "@mx.example.test\nSubject: t01\nMessage-ID: <t01@client.example.test>\n\nhello\nFrom the start of a line\n"
	if err := send(t, in.SMTPAddr, "alice@client.example.test", []string{strings.ToUpper(u.Name) + "@mx.example.test"}, crlf(msg)); err != nil {
		t.Fatalf("SMTP: %s", reply(err))
	}
	in.WaitLog(`postern/local\[\d+\]: \w+: to=<(?i:`+u.Name+`)@mx\.example\.test>, relay=local, delay=[\d.]+, delays=[\d.]+/[\d.]+/[\d.]+/[\d.]+, dsn=2\.0\.0, status=sent \(delivered to mailbox\)`, 20*time.Second)

	mbox := filepath.Join(in.MailDir, "spool", u.Name)
	got := readFile(t, mbox)
	for _, want := range []string{
		`^From alice@client\.example\.test  \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}\n`,
		`\nReturn-Path: <alice@client\.example\.test>\n`,
		`\nX-Original-To: ` + strings.ToUpper(u.Name) + `@mx\.example\.test\n`,
		`\nDelivered-To: (?i:` + u.Name + `)@mx\.example\.test\n`,
		`\nReceived: from client\.example\.test \(localhost \[127\.0\.0\.1\]\)\n\tby mx\.example\.test \(Postern\) with ESMTP id \w+\n\tfor <` + strings.ToUpper(u.Name) + `@mx\.example\.test>; `,
		`\nSubject: t01\n(.*\n)*\nhello\n>From the start of a line\n\n$`,
	} {
		if !regexp.MustCompile(want).MatchString(got) {
			t.Errorf("mailbox lacks %s:\n%s", want, got)
		}
	}
	// The delivery headers come first, in Postfix's order.
	if i, j := strings.Index(got, "Return-Path:"), strings.Index(got, "Delivered-To:"); i < 0 || j < i || strings.Index(got, "Received:") < j {
		t.Errorf("delivery headers out of order:\n%s", got)
	}
	fi, err := os.Stat(mbox)
	if err != nil {
		t.Fatal(err)
	}
	if st := fi.Sys().(*syscall.Stat_t); int(st.Uid) != u.UID || fi.Mode().Perm()&0o077 != 0 {
		t.Errorf("mailbox owned by uid %d with mode %v, want uid %d and no access for others", st.Uid, fi.Mode().Perm(), u.UID)
	}
}
