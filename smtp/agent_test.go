package smtp

import (
	"fmt"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/postern-mta/postern/internal/mtatest"
	"github.com/postern-mta/postern/internal/proto"
)

const simpleMessage = "Subject: test\n\nhello\n"

func TestRelayToSink(t *testing.T) {
	sink := mtatest.NewSink(t)
	ta := startAgent(t, testConfig(t))
	qid := ta.queueMessage(t, "alice@mx.example.test", []string{"bob@remote.test"}, simpleMessage)
	req := request(qid, "[127.0.0.1]:"+port(sink.Addr), "alice@mx.example.test", "bob@remote.test")
	req.Recipients[0].Orig = "bobby@remote.test"
	reply := ta.deliver(t, req)

	r := reply.Results[0]
	relay := "127.0.0.1[127.0.0.1]:" + port(sink.Addr)
	if r.Action != proto.ActionRelayed || r.Status.Enhanced != "2.0.0" || r.Reason != "250 2.0.0 OK: queued" || r.Relay != relay || r.RemoteMTA != "127.0.0.1" {
		t.Errorf("result = %+v", r)
	}
	if reply.DestinationDead {
		t.Error("DestinationDead on success")
	}
	msgs := sink.Messages()
	if len(msgs) != 1 || msgs[0].From != "alice@mx.example.test" || strings.Join(msgs[0].To, ",") != "bob@remote.test" {
		t.Fatalf("sink got %+v", msgs)
	}
	if got, want := string(msgs[0].Data), "Subject: test\r\n\r\nhello\r\n"; got != want {
		t.Errorf("sink data %q, want %q", got, want)
	}
	ta.logLine(t, `postern/smtp\[1\]: `+qid+`: to=<bob@remote.test>, orig_to=<bobby@remote.test>, relay=`+regexp.QuoteMeta(relay)+
		`, delay=[0-9.]+, delays=[0-9.]+/[0-9.]+/[0-9.]+/[0-9.]+, dsn=2\.0\.0, status=sent \(250 2\.0\.0 OK: queued\)\n`)
}

func TestPartialRefusal(t *testing.T) {
	sink := mtatest.NewSink(t)
	sink.RcptReply(func(rcpt string) *smtp.SMTPError {
		switch {
		case strings.HasPrefix(rcpt, "rej"):
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "<" + rcpt + ">: Recipient address rejected: User unknown"}
		case strings.HasPrefix(rcpt, "tmp"):
			return &smtp.SMTPError{Code: 450, EnhancedCode: smtp.EnhancedCode{4, 2, 0}, Message: "<" + rcpt + ">: Recipient address rejected: Greylisted"}
		}
		return nil
	})
	ta := startAgent(t, testConfig(t))
	hop := "[127.0.0.1]:" + port(sink.Addr)
	reply, qid := ta.send(t, hop, simpleMessage, "ok1@remote.test", "rej1@remote.test", "tmp1@remote.test", "ok2@remote.test")

	want := []struct{ action, dsn, reason string }{
		{proto.ActionRelayed, "2.0.0", "250 2.0.0 OK: queued"},
		{proto.ActionFailed, "5.1.1", "host 127.0.0.1[127.0.0.1] said: 550 5.1.1 <rej1@remote.test>: Recipient address rejected: User unknown (in reply to RCPT TO command)"},
		{proto.ActionDelayed, "4.2.0", "host 127.0.0.1[127.0.0.1] said: 450 4.2.0 <tmp1@remote.test>: Recipient address rejected: Greylisted (in reply to RCPT TO command)"},
		{proto.ActionRelayed, "2.0.0", "250 2.0.0 OK: queued"},
	}
	for i, w := range want {
		r := reply.Results[i]
		if r.Action != w.action || r.Status.Enhanced != w.dsn || r.Reason != w.reason {
			t.Errorf("result %d = %s %s %q, want %s %s %q", i, r.Action, r.Status.Enhanced, r.Reason, w.action, w.dsn, w.reason)
		}
	}
	rej := reply.Results[1]
	if rej.DiagType != "smtp" || rej.Diag != "550 5.1.1 <rej1@remote.test>: Recipient address rejected: User unknown" || rej.RemoteMTA != "127.0.0.1" {
		t.Errorf("refused recipient's DSN fields: %+v", rej)
	}
	msgs := sink.Messages()
	if len(msgs) != 1 || strings.Join(msgs[0].To, ",") != "ok1@remote.test,ok2@remote.test" {
		t.Fatalf("sink got %+v", msgs)
	}
	ta.logLine(t, qid+`: to=<rej1@remote.test>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:\d+, .*dsn=5\.1\.1, status=bounced \(host 127\.0\.0\.1\[127\.0\.0\.1\] said: 550 5\.1\.1 <rej1@remote\.test>: Recipient address rejected: User unknown \(in reply to RCPT TO command\)\)`)
	ta.logLine(t, qid+`: to=<tmp1@remote.test>, .*dsn=4\.2\.0, status=deferred `)
}

func TestAllRecipientsRefused(t *testing.T) {
	sink := mtatest.NewSinkWith(t, mtatest.SinkOptions{})
	sink.RcptReply(func(string) *smtp.SMTPError {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no"}
	})
	ta := startAgent(t, testConfig(t))
	reply, _ := ta.send(t, "[127.0.0.1]:"+port(sink.Addr), simpleMessage, "a@remote.test", "b@remote.test")
	for i, r := range reply.Results {
		if r.Action != proto.ActionFailed {
			t.Errorf("result %d: %+v", i, r)
		}
	}
	if sink.Count() != 0 {
		t.Errorf("sink got %d messages", sink.Count())
	}
	// RSET left the session clean: it waits in the cache.
	if n := ta.a.cache.size(); n != 1 {
		t.Errorf("%d cached sessions, want 1", n)
	}
}

func TestMailFromRefused(t *testing.T) {
	for _, tc := range []struct {
		code   int
		enh    smtp.EnhancedCode
		action string
	}{
		{553, smtp.EnhancedCode{5, 7, 1}, proto.ActionFailed},
		{451, smtp.EnhancedCode{4, 3, 0}, proto.ActionDelayed},
	} {
		t.Run(fmt.Sprint(tc.code), func(t *testing.T) {
			sink := mtatest.NewSinkWith(t, mtatest.SinkOptions{MailReply: func(string) *smtp.SMTPError {
				return &smtp.SMTPError{Code: tc.code, EnhancedCode: tc.enh, Message: "<alice@mx.example.test>: Sender address rejected"}
			}})
			ta := startAgent(t, testConfig(t))
			reply, _ := ta.send(t, "[127.0.0.1]:"+port(sink.Addr), simpleMessage, "a@remote.test", "b@remote.test")
			want := fmt.Sprintf("host 127.0.0.1[127.0.0.1] said: %d %d.%d.%d <alice@mx.example.test>: Sender address rejected (in reply to MAIL FROM command)", tc.code, tc.enh[0], tc.enh[1], tc.enh[2])
			for i, r := range reply.Results {
				if r.Action != tc.action || r.Reason != want {
					t.Errorf("result %d = %s %q, want %s %q", i, r.Action, r.Reason, tc.action, want)
				}
			}
		})
	}
}

func TestDataRefused(t *testing.T) {
	sink := mtatest.NewSinkWith(t, mtatest.SinkOptions{DataReply: func() *smtp.SMTPError {
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "Subject not allowed"}
	}})
	ta := startAgent(t, testConfig(t))
	reply, _ := ta.send(t, "[127.0.0.1]:"+port(sink.Addr), simpleMessage, "a@remote.test", "b@remote.test")
	for i, r := range reply.Results {
		if r.Action != proto.ActionFailed || r.Status.Enhanced != "5.7.1" ||
			r.Reason != "host 127.0.0.1[127.0.0.1] said: 554 5.7.1 Subject not allowed (in reply to end of DATA command)" {
			t.Errorf("result %d = %+v", i, r)
		}
	}
}

func TestConnectRefused(t *testing.T) {
	p := freePort(t)
	ta := startAgent(t, testConfig(t))
	reply, qid := ta.send(t, "[127.0.0.1]:"+p, simpleMessage, "bob@remote.test")
	r := reply.Results[0]
	want := "connect to 127.0.0.1[127.0.0.1]:" + p + ": Connection refused"
	if r.Action != proto.ActionDelayed || r.Status.Enhanced != "4.4.1" || r.Reason != want || r.Relay != "none" {
		t.Errorf("result = %+v, want reason %q", r, want)
	}
	if !reply.DestinationDead {
		t.Error("DestinationDead not set")
	}
	ta.logLine(t, qid+`: to=<bob@remote.test>, relay=none, .*dsn=4\.4\.1, status=deferred \(`+regexp.QuoteMeta(want)+`\)`)
}

func TestGreetingTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() { // accept and say nothing
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	cfg := testConfig(t)
	cfg.Timeouts.Helo = 300 * time.Millisecond
	ta := startAgent(t, cfg)
	reply, _ := ta.send(t, "[127.0.0.1]:"+port(ln.Addr().String()), simpleMessage, "bob@remote.test")
	r := reply.Results[0]
	if r.Action != proto.ActionDelayed || r.Status.Enhanced != "4.4.2" ||
		r.Reason != "conversation with 127.0.0.1[127.0.0.1] timed out while receiving the initial server greeting" {
		t.Errorf("result = %+v", r)
	}
	if !reply.DestinationDead {
		t.Error("DestinationDead not set")
	}
}

func TestBadQueueFile(t *testing.T) {
	ta := startAgent(t, testConfig(t))
	reply := ta.deliver(t, request("4jXRDB400qz1SCHg", "[127.0.0.1]:25", "", "bob@remote.test"))
	if reply.Status == nil || reply.Status.Enhanced != "4.3.0" {
		t.Errorf("reply = %+v, want a 4.3.0 status", reply)
	}
}

func TestVerifyProbe(t *testing.T) {
	sink := mtatest.NewSinkWith(t, mtatest.SinkOptions{})
	sink.RcptReply(func(rcpt string) *smtp.SMTPError {
		if rcpt == "nobody@remote.test" {
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "User unknown"}
		}
		return nil
	})
	ta := startAgent(t, testConfig(t))
	qid := ta.queueMessage(t, "alice@mx.example.test", []string{"bob@remote.test", "nobody@remote.test"}, simpleMessage)
	req := request(qid, "[127.0.0.1]:"+port(sink.Addr), "alice@mx.example.test", "bob@remote.test", "nobody@remote.test")
	req.Flags = proto.DeliverVerify
	reply := ta.deliver(t, req)
	if r := reply.Results[0]; r.Action != "deliverable" || r.Status.Enhanced != "2.0.0" || !strings.HasPrefix(r.Reason, "250 ") {
		t.Errorf("deliverable result = %+v", r)
	}
	if r := reply.Results[1]; r.Action != proto.ActionFailed || r.Status.Enhanced != "5.1.1" {
		t.Errorf("undeliverable result = %+v", r)
	}
	if sink.Count() != 0 {
		t.Errorf("a probe delivered %d messages", sink.Count())
	}
	ta.logLine(t, qid+`: to=<bob@remote.test>, .*status=deliverable \(250 `)
	ta.logLine(t, qid+`: to=<nobody@remote.test>, .*status=undeliverable \(host `)
}

func TestSizeLimit(t *testing.T) {
	sink := mtatest.NewSinkWith(t, mtatest.SinkOptions{MaxMessageBytes: 100})
	ta := startAgent(t, testConfig(t))
	body := "Subject: big\n\n" + strings.Repeat("x", 200) + "\n"
	reply, _ := ta.send(t, "[127.0.0.1]:"+port(sink.Addr), body, "bob@remote.test")
	r := reply.Results[0]
	want := fmt.Sprintf("message size %d exceeds size limit 100 of server 127.0.0.1[127.0.0.1]", len(body))
	if r.Action != proto.ActionFailed || r.Status.Enhanced != "5.3.4" || r.Reason != want {
		t.Errorf("result = %+v, want %q", r, want)
	}
	if len(sink.Mails()) != 0 {
		t.Errorf("MAIL was sent for a message over the server's SIZE")
	}
}

func TestMailParameters(t *testing.T) {
	sink := mtatest.NewSinkWith(t, mtatest.SinkOptions{EnableDSN: true})
	ta := startAgent(t, testConfig(t))
	qid := ta.queueMessage(t, "alice@mx.example.test", []string{"bob@remote.test", "carol@remote.test"}, simpleMessage)
	req := request(qid, "[127.0.0.1]:"+port(sink.Addr), "alice@mx.example.test", "bob@remote.test", "carol@remote.test")
	req.DSNRet, req.DSNEnvID = "HDRS", "env+id=1"
	req.Recipients[0].Notify, req.Recipients[0].ORCPT = "SUCCESS,FAILURE", "rfc822;bob+tag@remote.test"
	req.Recipients[1].Orig = "carol.original@remote.test"
	reply := ta.deliver(t, req)
	for i, r := range reply.Results {
		if r.Action != proto.ActionRelayed {
			t.Fatalf("result %d = %+v", i, r)
		}
	}
	mails := sink.Mails()
	if len(mails) != 1 {
		t.Fatalf("sink saw %d transactions", len(mails))
	}
	m := mails[0]
	if m.Opts.Size != int64(len(simpleMessage)) || m.Opts.Body != smtp.Body8BitMIME || m.Opts.Return != smtp.DSNReturnHeaders || m.Opts.EnvelopeID != "env+id=1" {
		t.Errorf("MAIL options = %+v", m.Opts)
	}
	r0, r1 := m.Rcpts[0].Opts, m.Rcpts[1].Opts
	if fmt.Sprint(r0.Notify) != "[SUCCESS FAILURE]" || r0.OriginalRecipient != "bob+tag@remote.test" || r0.OriginalRecipientType != smtp.DSNAddressTypeRFC822 {
		t.Errorf("first RCPT options = %+v", r0)
	}
	if r1.OriginalRecipient != "carol.original@remote.test" || r1.Notify != nil {
		t.Errorf("second RCPT options = %+v", r1)
	}
}

func TestSMTPUTF8Required(t *testing.T) {
	sink := mtatest.NewSinkWith(t, mtatest.SinkOptions{NoSMTPUTF8: true})
	ta := startAgent(t, testConfig(t))
	reply, _ := ta.send(t, "[127.0.0.1]:"+port(sink.Addr), simpleMessage, "jürgen@remote.test")
	r := reply.Results[0]
	if r.Action != proto.ActionFailed || r.Status.Enhanced != "5.6.7" || r.Reason != "SMTPUTF8 is required, but was not offered by host 127.0.0.1[127.0.0.1]" {
		t.Errorf("result = %+v", r)
	}
	// With SMTPUTF8 it goes through, with the parameter.
	sink2 := mtatest.NewSinkWith(t, mtatest.SinkOptions{})
	reply, _ = ta.send(t, "[127.0.0.1]:"+port(sink2.Addr), simpleMessage, "jürgen@remote.test")
	if r := reply.Results[0]; r.Action != proto.ActionRelayed {
		t.Errorf("result = %+v", r)
	}
	if m := sink2.Mails(); len(m) != 1 || !m[0].Opts.UTF8 {
		t.Errorf("MAIL without SMTPUTF8: %+v", m)
	}
}

func TestNexthopList(t *testing.T) {
	sink := mtatest.NewSink(t)
	dead := freePort(t)
	ta := startAgent(t, testConfig(t))
	hop := "[127.0.0.1]:" + dead + ", [127.0.0.1]:" + port(sink.Addr)
	reply, qid := ta.send(t, hop, simpleMessage, "bob@remote.test")
	if r := reply.Results[0]; r.Action != proto.ActionRelayed {
		t.Fatalf("result = %+v", r)
	}
	// The skipped destination is noted, as Postfix does.
	ta.logLine(t, qid+`: connect to 127\.0\.0\.1\[127\.0\.0\.1\]:`+dead+`: Connection refused\n`)
}

func TestFallbackRelay(t *testing.T) {
	sink := mtatest.NewSink(t)
	cfg := testConfig(t)
	cfg.FallbackRelay = []string{"[127.0.0.1]:" + port(sink.Addr)}
	ta := startAgent(t, cfg)
	reply, _ := ta.send(t, "[127.0.0.1]:"+freePort(t), simpleMessage, "bob@remote.test")
	if r := reply.Results[0]; r.Action != proto.ActionRelayed || r.Relay != "127.0.0.1[127.0.0.1]:"+port(sink.Addr) {
		t.Fatalf("result = %+v", r)
	}
}

func TestInterruptedDelivery(t *testing.T) {
	ta := startAgent(t, testConfig(t))
	qid := ta.queueMessage(t, "alice@mx.example.test", []string{"bob@remote.test"}, simpleMessage)
	ctx, cancel := contextCanceled()
	defer cancel()
	reply := ta.a.Deliver(ctx, request(qid, "[127.0.0.1]:25", "alice@mx.example.test", "bob@remote.test"))
	if r := reply.Results[0]; r.Action != proto.ActionDelayed || r.Status.Enhanced != "4.3.0" {
		t.Errorf("result = %+v", r)
	}
}

func port(hostport string) string {
	_, p, _ := net.SplitHostPort(hostport)
	return p
}

// freePort is a loopback port nobody listens on.
func freePort(t *testing.T) string {
	t.Helper()
	return fmt.Sprint(mtatest.FreePort(t))
}
