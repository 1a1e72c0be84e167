package smtp

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/postern-mta/postern/internal/mtatest"
)

// End-to-end scenarios through the real binary: smtpd → cleanup → qmgr →
// smtp → a sink. They need the whole mail system; -short skips them.

func e2e(t *testing.T) *mtatest.Instance {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end test skipped in -short mode")
	}
	in := mtatest.New(t)
	// Only the relay path: no local or virtual delivery, no alias tables.
	var keep []string
	for _, l := range strings.Split(in.MasterCF(), "\n") {
		if !strings.HasPrefix(l, "local ") && !strings.HasPrefix(l, "virtual ") {
			keep = append(keep, l)
		}
	}
	in.SetMasterCF(strings.Join(keep, "\n"))
	in.Set("alias_maps", "")
	in.Set("alias_database", "")
	in.Set("local_recipient_maps", "")
	return in
}

// submit sends one message to the instance's SMTP service.
func submit(t *testing.T, in *mtatest.Instance, from string, to []string, body string) {
	t.Helper()
	c, err := smtp.Dial(in.SMTPAddr)
	if err != nil {
		t.Fatalf("connect to smtpd: %v", err)
	}
	defer c.Close()
	if err := c.Hello("client.example.test"); err != nil {
		t.Fatalf("EHLO: %v", err)
	}
	if err := c.SendMail(from, to, strings.NewReader(body)); err != nil {
		t.Fatalf("send: %v", err)
	}
	c.Quit() //nolint:errcheck
}

const e2eMessage = "From: alice@client.example.test\r\nTo: bob@remote.test\r\nSubject: e2e\r\n\r\nhello\r\n..dot line\r\n"

func TestEndToEndRelayhost(t *testing.T) {
	in := e2e(t)
	sink := mtatest.NewSink(t)
	in.Set("relayhost", "[127.0.0.1]:"+port(sink.Addr))
	in.Start()
	submit(t, in, "alice@client.example.test", []string{"bob@remote.test"}, e2eMessage)
	mtatest.WaitFor(t, 30*time.Second, "the sink to get the message", func() bool { return sink.Count() == 1 })
	m := sink.Messages()[0]
	if m.From != "alice@client.example.test" || strings.Join(m.To, ",") != "bob@remote.test" {
		t.Errorf("envelope %s → %v", m.From, m.To)
	}
	if !strings.Contains(string(m.Data), "\r\n\r\nhello\r\n..dot line\r\n") {
		t.Errorf("body not intact: %q", m.Data)
	}
	in.WaitLog(`postern/smtp\[\d+\]: \w+: to=<bob@remote\.test>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:`+port(sink.Addr)+
		`, delay=[0-9.]+, delays=[0-9.]+/[0-9.]+/[0-9.]+/[0-9.]+, dsn=2\.0\.0, status=sent \(250 2\.0\.0 OK: queued\)`, 10*time.Second)
}

func TestEndToEndMXPartialRefusal(t *testing.T) {
	in := e2e(t)
	sink := mtatest.NewSink(t)
	sink.RcptReply(func(rcpt string) *smtp.SMTPError {
		if strings.HasPrefix(rcpt, "rej") {
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "<" + rcpt + ">: Recipient address rejected: User unknown"}
		}
		return nil
	})
	dns := mtatest.NewDNS(t)
	dns.Add(t,
		"remote.test. 60 IN MX 10 mx.remote.test.",
		"mx.remote.test. 60 IN A 127.0.0.1",
	)
	in.Set("smtp_dns_server", dns.Addr)
	in.Set("smtp_tcp_port", port(sink.Addr))
	in.Set("inet_protocols", "ipv4")
	in.Start()
	submit(t, in, "alice@mx.example.test", []string{"ok@remote.test", "rej1@remote.test"}, e2eMessage)
	mtatest.WaitFor(t, 30*time.Second, "the sink to get the message", func() bool { return sink.Count() == 1 })
	if to := sink.Messages()[0].To; strings.Join(to, ",") != "ok@remote.test" {
		t.Errorf("sink recipients %v", to)
	}
	in.WaitLog(`to=<ok@remote\.test>, relay=mx\.remote\.test\[127\.0\.0\.1\]:\d+, .*status=sent`, 10*time.Second)
	in.WaitLog(regexp.QuoteMeta(`to=<rej1@remote.test>, relay=mx.remote.test[127.0.0.1]:`+port(sink.Addr))+
		`, .*dsn=5\.1\.1, status=bounced \(host mx\.remote\.test\[127\.0\.0\.1\] said: 550 5\.1\.1 <rej1@remote\.test>: Recipient address rejected: User unknown \(in reply to RCPT TO command\)\)`, 10*time.Second)
}

func TestEndToEndDownDestinationDefers(t *testing.T) {
	in := e2e(t)
	p := mtatest.FreePort(t)
	in.Set("relayhost", fmt.Sprintf("[127.0.0.1]:%d", p))
	in.Start()
	submit(t, in, "alice@mx.example.test", []string{"bob@remote.test"}, e2eMessage)
	in.WaitLog(fmt.Sprintf(`to=<bob@remote\.test>, relay=none, .*dsn=4\.4\.1, status=deferred \(connect to 127\.0\.0\.1\[127\.0\.0\.1\]:%d: Connection refused\)`, p), 30*time.Second)
	// The destination comes back: a flush delivers at once.
	sink := mtatest.NewSinkWith(t, mtatest.SinkOptions{Addr: fmt.Sprintf("127.0.0.1:%d", p)})
	if res := in.Run("postqueue", "-f"); res.Exit != 0 {
		t.Fatalf("postqueue -f: exit %d: %s", res.Exit, res.Stderr)
	}
	mtatest.WaitFor(t, 30*time.Second, "delivery after the flush", func() bool { return sink.Count() == 1 })
}
