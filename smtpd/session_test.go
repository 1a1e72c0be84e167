package smtpd

import (
	"strings"
	"testing"

	"github.com/postern-mta/postern/internal/dsn"
)

func TestGreetingAndEHLO(t *testing.T) {
	ts := startServer(t, &Config{Banner: "mx.example.test ESMTP Postern", MessageSizeLimit: 10240000})
	c := dial(t, ts)
	if g := c.readReply(); g != "220 mx.example.test ESMTP Postern" {
		t.Fatalf("greeting %q", g)
	}
	got := c.cmd("EHLO client.example.test")
	want := strings.Join([]string{
		"250-mx.example.test", "250-PIPELINING", "250-SIZE 10240000", "250-VRFY", "250-ETRN",
		"250-ENHANCEDSTATUSCODES", "250-8BITMIME", "250-DSN", "250-SMTPUTF8", "250 CHUNKING",
	}, "\n")
	if got != want {
		t.Fatalf("EHLO reply:\n%s\nwant:\n%s", got, want)
	}
	c.transcript("HELO client.example.test", "250 mx.example.test", "QUIT", "221 2.0.0 Bye")
	line := ts.waitLog(t, "disconnect from")
	if !strings.HasSuffix(line, "disconnect from unknown[127.0.0.1] ehlo=1 helo=1 quit=1 commands=3") &&
		!strings.HasSuffix(line, "disconnect from unknown[127.0.0.1] helo=1 ehlo=1 quit=1 commands=3") {
		t.Fatalf("disconnect line %q", line)
	}
}

func TestDiscardEHLOKeywords(t *testing.T) {
	ts := startServer(t, &Config{DiscardEHLOKeywords: []string{"pipelining", "CHUNKING", "dsn"}, DisableVRFY: true})
	c := dial(t, ts)
	c.readReply()
	got := c.cmd("EHLO x.test")
	for _, k := range []string{"PIPELINING", "CHUNKING", "DSN", "VRFY"} {
		if strings.Contains(got, k+"\n") || strings.HasSuffix(got, k) {
			t.Errorf("%s announced: %q", k, got)
		}
	}
	c.transcript("VRFY bob", "502 5.5.1 VRFY command is disabled",
		"MAIL FROM:<a@b.test> RET=FULL", "501 5.7.1 DSN support is disabled")
}

func TestMailTransaction(t *testing.T) {
	ts := startServer(t, &Config{})
	c := dial(t, ts)
	c.readReply()
	c.transcript(
		"EHLO client.example.test", "250-mx.example.test",
		"MAIL FROM:<alice@example.org> SIZE=100 BODY=8BITMIME RET=HDRS ENVID=x+2By", "250 2.1.0 Ok",
		"RCPT TO:<bob@mx.example.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;bob+40mx.example.test", "250 2.1.5 Ok",
		"DATA", "354 End data with <CR><LF>.<CR><LF>",
	)
	c.send("Subject: hi\r\n\r\n..leading dot\r\nbody\r\n.\r\n")
	if r := c.readReply(); r != "250 2.0.0 Ok: queued as QID1" {
		t.Fatalf("end of data: %q", r)
	}
	c.transcript("QUIT", "221 2.0.0 Bye")
	msgs := ts.sub.messages()
	if len(msgs) != 1 {
		t.Fatalf("%d messages", len(msgs))
	}
	m := msgs[0]
	o := m.open
	if o.Sender != "alice@example.org" || len(o.Recipients) != 1 || o.DSNRet != "HDRS" || o.DSNEnvID != "x+y" {
		t.Fatalf("envelope %+v", o)
	}
	r := o.Recipients[0]
	if r.Addr != "bob@mx.example.test" || r.Notify != "SUCCESS,FAILURE" || r.ORCPT != "rfc822;bob@mx.example.test" {
		t.Fatalf("recipient %+v", r)
	}
	if !strings.HasPrefix(m.content, "Received: from client.example.test (unknown [127.0.0.1])\n\tby mx.example.test (Postern) with ESMTP id QID1\n\tfor <bob@mx.example.test>; ") {
		t.Fatalf("content:\n%s", m.content)
	}
	if !strings.HasSuffix(m.content, "\nSubject: hi\r\n\r\n.leading dot\r\nbody\r\n") {
		t.Fatalf("content:\n%q", m.content)
	}
	ts.waitLog(t, "QID1: client=unknown[127.0.0.1]")
	ts.waitLog(t, "disconnect from unknown[127.0.0.1] ehlo=1 mail=1 rcpt=1 data=1 quit=1 commands=5")
}

func TestSequenceErrors(t *testing.T) {
	ts := startServer(t, &Config{HardErrorLimit: 100})
	c := dial(t, ts)
	c.readReply()
	c.transcript(
		"RCPT TO:<a@b.test>", "503 5.5.1 Error: need MAIL command",
		"DATA", "503 5.5.1 Error: need RCPT command",
		"FOO", "502 5.5.2 Error: command not recognized",
		"", "500 5.5.2 Error: bad syntax",
		"HELO", "501 Syntax: HELO hostname",
		"EHLO", "501 Syntax: EHLO hostname",
		"MAIL FROM:", "501 5.5.4 Syntax: MAIL FROM:<address>",
		"MAIL TO:<a@b>", "501 5.5.4 Syntax: MAIL FROM:<address>",
		"MAIL FROM:<a b@c>", "501 5.1.7 Bad sender address syntax",
		"MAIL FROM:<a@b.test> FOO=BAR", "555 5.5.4 Unsupported option: FOO=BAR",
		"MAIL FROM:<a@b.test> SIZE=x", "501 5.5.4 Bad message size syntax",
		"MAIL FROM:<a@b.test>", "250 2.1.0 Ok",
		"MAIL FROM:<a@b.test>", "503 5.5.1 Error: nested MAIL command",
		"RCPT TO:<>", "501 5.1.3 Bad recipient address syntax",
		"RCPT TO:<x@y.test> NOTIFY=NEVER,SUCCESS", "501 5.5.4 Error: Bad NOTIFY parameter syntax",
		"DATA", "554 5.5.1 Error: no valid recipients",
		"DATA x", "554 5.5.1 Error: no valid recipients",
		"RSET", "250 2.0.0 Ok",
		"NOOP", "250 2.0.0 Ok",
		"VRFY", "501 5.5.4 Syntax: VRFY address",
		"VRFY bob", "252 2.0.0 bob",
		"STARTTLS", "502 5.5.1 Error: command not implemented",
		"AUTH PLAIN", "503 5.5.1 Error: authentication not enabled",
		"ETRN", "500 Syntax: ETRN domain",
		"ETRN !!", "501 Error: invalid parameter syntax",
	)
	c.send("BDAT 3\r\nabc")
	if r := c.readReply(); r != "503 5.5.1 Error: need MAIL command" {
		t.Fatalf("got %q", r)
	}
}

func TestTooManyErrors(t *testing.T) {
	ts := startServer(t, &Config{HardErrorLimit: 3})
	c := dial(t, ts)
	c.readReply()
	c.transcript("X1", "502 ", "X2", "502 ", "X3", "502 ")
	if r := c.readReply(); r != "421 4.7.0 mx.example.test Error: too many errors" {
		t.Fatalf("got %q", r)
	}
	ts.waitLog(t, "too many errors after UNKNOWN from unknown[127.0.0.1]")
	ts.waitLog(t, "disconnect from unknown[127.0.0.1] unknown=0/3 commands=0/3")
}

// Postfix counts a junk command against smtpd_junk_command_limit before
// it increments its counter: with a limit of 3 the first four (EHLO and
// three NOOPs) are free, and each one after that is an error.
func TestJunkCommandLimit(t *testing.T) {
	ts := startServer(t, &Config{JunkCommandLimit: 3, HardErrorLimit: 4})
	c := dial(t, ts)
	c.readReply()
	c.transcript("EHLO client.example.test", "250-mx.example.test")
	for i := range 7 {
		if r := c.cmd("NOOP"); r != "250 2.0.0 Ok" {
			t.Fatalf("NOOP %d: got %q", i+1, r)
		}
	}
	if r := c.cmd("NOOP"); r != "421 4.7.0 mx.example.test Error: too many errors" {
		t.Fatalf("NOOP 8: got %q", r)
	}
	ts.waitLog(t, "too many errors after NOOP from unknown[127.0.0.1]")
}

func TestNonSMTPCommand(t *testing.T) {
	ts := startServer(t, &Config{Forbidden: mustCommandList(t, "CONNECT", "GET", "POST", "regexp:{{/^[^A-Z]/ Bogus}}")})
	for _, line := range []string{"Subject: hello", "GET / HTTP/1.0", "\x16\x03\x01"} {
		c := dial(t, ts)
		c.readReply()
		if r := c.cmd(line); r != "221 2.7.0 Error: I can break rules, too. Goodbye." {
			t.Fatalf("%q: got %q", line, r)
		}
	}
	ts.waitLog(t, "warning: non-SMTP command from unknown[127.0.0.1]: Subject: hello")
}

func mustCommandList(t *testing.T, items ...string) commandList {
	l, err := parseCommandList(items, nil)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestRecipientLimit(t *testing.T) {
	ts := startServer(t, &Config{RecipientLimit: 2, RecipientOvershootLimit: 1})
	c := dial(t, ts)
	c.readReply()
	c.transcript("HELO x.test", "250",
		"MAIL FROM:<a@b.test>", "250",
		"RCPT TO:<a@c.test>", "250 2.1.5 Ok",
		"RCPT TO:<b@c.test>", "250 2.1.5 Ok",
		"RCPT TO:<c@c.test>", "452 4.5.3 Error: too many recipients",
		"RCPT TO:<d@c.test>", "452 4.5.3 Error: too many recipients",
		"QUIT", "221")
	ts.waitLog(t, "rcpt=3/4")
}

func TestSizeLimits(t *testing.T) {
	ts := startServer(t, &Config{MessageSizeLimit: 100})
	c := dial(t, ts)
	c.readReply()
	c.transcript("EHLO x.test", "250-mx.example.test\n250-PIPELINING\n250-SIZE 100",
		"MAIL FROM:<a@b.test> SIZE=101", "552 5.3.4 Message size exceeds fixed limit",
		// Postfix's quirk: the refused size sticks until RSET.
		"MAIL FROM:<a@b.test>", "552 5.3.4 Message size exceeds fixed limit",
		"RSET", "250",
		"MAIL FROM:<a@b.test>", "250",
		"RCPT TO:<a@c.test>", "250",
		"DATA", "354")
	c.send(strings.Repeat("0123456789\r\n", 20) + ".\r\n")
	if r := c.readReply(); r != "552 5.3.4 Error: message file too big" {
		t.Fatalf("got %q", r)
	}
	c.transcript("MAIL FROM:<a@b.test>", "250", "RCPT TO:<a@c.test>", "250")
	c.send("BDAT 200 LAST\r\n" + strings.Repeat("x", 200))
	if r := c.readReply(); r != "552 5.3.4 Chunk exceeds message size limit" {
		t.Fatalf("got %q", r)
	}
	if n := len(ts.sub.messages()); n != 0 {
		t.Fatalf("%d messages queued", n)
	}
	ts.waitLog(t, "NOQUEUE: reject: MAIL from unknown[127.0.0.1]: 552 5.3.4 Message size exceeds fixed limit; proto=ESMTP helo=<x.test>")
	ts.waitLog(t, "warning: QID1: queue file size limit exceeded")
}

func TestBDAT(t *testing.T) {
	ts := startServer(t, &Config{})
	c := dial(t, ts)
	c.readReply()
	c.transcript("EHLO x.test", "250", "MAIL FROM:<a@b.test>", "250", "RCPT TO:<a@c.test>", "250")
	c.send("BDAT 6\r\nHello\n")
	if r := c.readReply(); r != "250 2.0.0 Ok: 6 bytes" {
		t.Fatalf("got %q", r)
	}
	c.send("BDAT 7 LAST\r\nworld!\n")
	if r := c.readReply(); r != "250 2.0.0 Ok: queued as QID1" {
		t.Fatalf("got %q", r)
	}
	c.transcript("DATA", "503 5.5.1 Error: need RCPT command", "BDAT x", "521 5.5.4 Syntax: BDAT count [LAST]")
	msgs := ts.sub.messages()
	if len(msgs) != 1 || !strings.HasSuffix(msgs[0].content, "\nHello\nworld!\n") {
		t.Fatalf("messages %+v", msgs)
	}
	ts.waitLog(t, "bdat=2")
}

func TestCleanupRefusal(t *testing.T) {
	ts := startServer(t, &Config{})
	ts.sub.finishErr = dsn.New(550, "5.7.1", "Subject not allowed")
	c := dial(t, ts)
	c.readReply()
	c.transcript("HELO x.test", "250", "MAIL FROM:<a@b.test>", "250", "RCPT TO:<a@c.test>", "250", "DATA", "354")
	c.send("Subject: bad\r\n\r\n.\r\n")
	if r := c.readReply(); r != "550 5.7.1 Subject not allowed" {
		t.Fatalf("got %q", r)
	}
	ts.sub.finishErr = errString("connection reset")
	c.transcript("MAIL FROM:<a@b.test>", "250", "RCPT TO:<a@c.test>", "250", "DATA", "354")
	c.send("x\r\n.\r\n")
	if r := c.readReply(); r != "451 4.3.0 Error: queue file write error" {
		t.Fatalf("got %q", r)
	}
	ts.sub.finishErr = nil
	ts.sub.openErr = errString("connect: no such file")
	c.transcript("MAIL FROM:<a@b.test>", "250", "RCPT TO:<a@c.test>", "250", "DATA", "451 4.3.0 Error: queue file write error")
	ts.sub.openErr = dsn.New(452, "4.3.1", "Insufficient system storage")
	c.transcript("DATA", "452 4.3.1 Insufficient system storage")
}

type errString string

func (e errString) Error() string { return string(e) }

func TestLostConnectionMidData(t *testing.T) {
	ts := startServer(t, &Config{})
	c := dial(t, ts)
	c.readReply()
	c.transcript("HELO x.test", "250", "MAIL FROM:<a@b.test>", "250", "RCPT TO:<a@c.test>", "250", "DATA", "354")
	c.send("Subject: half\r\n\r\nsome")
	c.conn.Close()
	ts.waitLog(t, "lost connection after DATA (")
	ts.waitLog(t, "disconnect from")
	if n := len(ts.sub.messages()); n != 0 {
		t.Fatalf("%d messages queued", n)
	}
	ts.sub.mu.Lock()
	defer ts.sub.mu.Unlock()
	if ts.sub.aborted != 1 {
		t.Fatalf("aborted %d", ts.sub.aborted)
	}
}

func TestImproperPipelining(t *testing.T) {
	ts := startServer(t, &Config{Restrictions: true, Checks: testChecks(t, func(cc *CheckConfig) {
		cc.Lists["smtpd_data_restrictions"] = []string{"reject_unauth_pipelining"}
	})})
	c := dial(t, ts)
	c.readReply()
	c.send("HELO x.test\r\nMAIL FROM:<a@b.test>\r\n")
	c.readReply()
	c.readReply()
	c.transcript("RCPT TO:<bob@mx.example.test>", "250")
	c.send("DATA\r\nSubject: x\r\n")
	if r := c.readReply(); r != "503 5.5.0 <DATA>: Data command rejected: Improper use of SMTP command pipelining" {
		t.Fatalf("got %q", r)
	}
	if r := c.readReply(); r != "221 2.7.0 Error: I can break rules, too. Goodbye." {
		t.Fatalf("got %q", r)
	}
	ts.waitLog(t, `improper command pipelining after HELO from unknown[127.0.0.1]: MAIL FROM:<a@b.test>\r\n`)
}

func TestPipelinedTransactionIsFine(t *testing.T) {
	ts := startServer(t, &Config{})
	c := dial(t, ts)
	c.readReply()
	c.cmd("EHLO x.test")
	c.send("MAIL FROM:<a@b.test>\r\nRCPT TO:<a@c.test>\r\nRCPT TO:<b@c.test>\r\nDATA\r\n")
	for _, want := range []string{"250 2.1.0 Ok", "250 2.1.5 Ok", "250 2.1.5 Ok", "354 "} {
		if r := c.readReply(); !strings.HasPrefix(r, want) {
			t.Fatalf("got %q want %q", r, want)
		}
	}
	c.send("x\r\n.\r\nQUIT\r\n")
	if r := c.readReply(); !strings.HasPrefix(r, "250 2.0.0 Ok: queued as") {
		t.Fatalf("got %q", r)
	}
	c.readReply()
	if strings.Contains(ts.logs.String(), "improper") {
		t.Fatalf("pipelining flagged:\n%s", ts.logs.String())
	}
}

func TestLongLineIsCut(t *testing.T) {
	ts := startServer(t, &Config{LineLengthLimit: 100})
	c := dial(t, ts)
	c.readReply()
	if r := c.cmd("NOOP " + strings.Repeat("x", 5000)); r != "250 2.0.0 Ok" {
		t.Fatalf("got %q", r)
	}
	if r := c.cmd("NOOP"); r != "250 2.0.0 Ok" {
		t.Fatalf("got %q", r)
	}
}
