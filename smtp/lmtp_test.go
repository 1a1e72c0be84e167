package smtp

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emersion/go-smtp"

	"github.com/postern-mta/postern/internal/mtatest"
	"github.com/postern-mta/postern/internal/proto"
)

func lmtpConfig(t *testing.T) Config {
	cfg := testConfig(t)
	cfg.LMTP = true
	cfg.DefaultPort = 24
	cfg.AlwaysEHLO = false
	return cfg
}

// overQuota refuses one mailbox after DATA, as a full mailbox would.
func overQuota(rcpt string) *smtp.SMTPError {
	if strings.HasPrefix(rcpt, "full") {
		return &smtp.SMTPError{Code: 552, EnhancedCode: smtp.EnhancedCode{5, 2, 2}, Message: "Mailbox full"}
	}
	return nil
}

func TestLMTP(t *testing.T) {
	for _, network := range []string{"tcp", "unix"} {
		t.Run(network, func(t *testing.T) {
			var ln net.Listener
			var err error
			var hop string
			if network == "tcp" {
				ln, err = net.Listen("tcp", "127.0.0.1:0")
				hop = "inet:127.0.0.1:" + port(ln.Addr().String())
			} else {
				path := filepath.Join(shortTempDir(t), "lmtp")
				ln, err = net.Listen("unix", path)
				hop = "unix:" + path
			}
			if err != nil {
				t.Fatal(err)
			}
			sink := mtatest.NewLMTPSink(t, ln)
			sink.DataReply(overQuota)
			ta := startAgent(t, lmtpConfig(t))
			reply, qid := ta.send(t, hop, simpleMessage, "bob@example.test", "full@example.test", "carol@example.test")

			relay := "127.0.0.1[127.0.0.1]:" + port(ln.Addr().String())
			if network == "unix" {
				relay = "mx.example.test[" + strings.TrimPrefix(hop, "unix:") + "]"
			}
			for i, w := range []struct{ action, dsn string }{
				{proto.ActionDelivered, "2.0.0"},
				{proto.ActionFailed, "5.2.2"},
				{proto.ActionDelivered, "2.0.0"},
			} {
				r := reply.Results[i]
				if r.Action != w.action || r.Status.Enhanced != w.dsn || r.Relay != relay {
					t.Errorf("result %d = %+v, want %s %s relay %s", i, r, w.action, w.dsn, relay)
				}
			}
			if network == "tcp" {
				want := "host 127.0.0.1[127.0.0.1] said: 552 5.2.2 <full@example.test> Mailbox full (in reply to end of DATA command)"
				if got := reply.Results[1].Reason; got != want {
					t.Errorf("reason %q, want %q", got, want)
				}
			}
			msgs := sink.Messages()
			if len(msgs) != 1 || !msgs[0].LMTP || string(msgs[0].Data) != "Subject: test\r\n\r\nhello\r\n" {
				t.Errorf("sink got %+v", msgs)
			}
			ta.logLine(t, qid+`: to=<full@example.test>, relay=.*dsn=5\.2\.2, status=bounced`)
		})
	}
}

func TestLMTPRelativeSocket(t *testing.T) {
	cfg := lmtpConfig(t)
	if err := os.MkdirAll(filepath.Join(cfg.QueueDir, "private"), 0o700); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("unix", filepath.Join(cfg.QueueDir, "private", "dovecot-lmtp"))
	if err != nil {
		t.Fatal(err)
	}
	sink := mtatest.NewLMTPSink(t, ln)
	ta := startAgent(t, cfg)
	reply, qid := ta.send(t, "unix:private/dovecot-lmtp", simpleMessage, "bob@example.test")
	if r := reply.Results[0]; r.Action != proto.ActionDelivered || r.Relay != "mx.example.test[private/dovecot-lmtp]" {
		t.Fatalf("result = %+v", r)
	}
	if sink.Count() != 1 {
		t.Errorf("sink got %d messages", sink.Count())
	}
	ta.logLine(t, qid+`: to=<bob@example.test>, relay=mx\.example\.test\[private/dovecot-lmtp\], .*status=sent \(250 `)
}

func TestLMTPSocketMissing(t *testing.T) {
	ta := startAgent(t, lmtpConfig(t))
	reply, _ := ta.send(t, "unix:private/nothing", simpleMessage, "bob@example.test")
	r := reply.Results[0]
	if r.Action != proto.ActionDelayed || r.Reason != "connect to mx.example.test[private/nothing]: No such file or directory" {
		t.Errorf("result = %+v", r)
	}
}
