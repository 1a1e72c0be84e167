package bounce

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/dsn"
	"github.com/postern-mta/postern/internal/proto"
	"github.com/postern-mta/postern/queue"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

const original = `Received: from client.example.test (localhost [127.0.0.1])
	by mx.example.test (Postern) with ESMTP id 4jXRDB400qz1SCHg;
	Sun, 22 Nov 2026 11:07:19 +0000 (UTC)
From: Alice <alice@mx.example.test>
To: rej1@remote.test
Subject: lunch
Message-Id: <t1@client.example.test>

Shall we have lunch on Friday?
Caf` + "\xc3\xa9" + ` at noon.
`

var smtpFailure = proto.LogEntry{
	Recipient: "rej1@remote.test",
	Status:    &dsn.Status{Code: 550, Enhanced: "5.1.1", Text: "<rej1@remote.test>: Recipient address rejected: User unknown"},
	Action:    proto.ActionFailed,
	Reason:    "host 127.0.0.1[127.0.0.1] said: 550 5.1.1 <rej1@remote.test>: Recipient address rejected: User unknown (in reply to RCPT TO command)",
	RemoteMTA: "127.0.0.1",
	DiagType:  "smtp",
	Diag:      "550 5.1.1 <rej1@remote.test>: Recipient address rejected: User unknown",
}

func envelope(sender string, rcpts ...queue.Recipient) *queue.Envelope {
	return &queue.Envelope{
		Arrival:    now.Add(-32 * time.Second),
		Sender:     sender,
		Recipients: rcpts,
	}
}

// goldenCase sets up a message and its log, asks for a report, and
// returns the original's queue ID.
type goldenCase struct {
	name   string
	config func(*Config)
	run    func(fx *fixture) string
}

var goldenCases = []goldenCase{
	{
		name: "bounce_smtp",
		run: func(fx *fixture) string {
			id := fx.queueMessage(queue.Active, envelope("alice@mx.example.test", queue.Recipient{Addr: "rej1@remote.test", Orig: "rej1@remote.test"}), original)
			e := smtpFailure
			e.Offset = fx.offsets(queue.Active, id)[0]
			fx.appendLog(proto.LogBounce, queue.Active, id, e)
			fx.mustNotify(proto.ReportBounce, queue.Active, id)
			return id
		},
	},
	{
		// A local failure after alias expansion, with a postmaster copy.
		name:   "bounce_local",
		config: func(c *Config) { c.NotifyBounce = true },
		run: func(fx *fixture) string {
			id := fx.queueMessage(queue.Active, envelope("alice@mx.example.test", queue.Recipient{Addr: "nosuchlocal@mx.example.test", Orig: "team@mx.example.test"}), original)
			fx.appendLog(proto.LogBounce, queue.Active, id, proto.LogEntry{
				Recipient: "nosuchlocal@mx.example.test",
				Orig:      "team@mx.example.test",
				Status:    &dsn.Status{Enhanced: "5.1.1"},
				Action:    proto.ActionFailed,
				Reason:    `unknown user: "nosuchlocal"`,
				DiagType:  "X-Postfix",
				Diag:      `unknown user: "nosuchlocal"`,
			})
			fx.mustNotify(proto.ReportBounce, queue.Active, id)
			return id
		},
	},
	{
		// RET=HDRS, an ENVID and an xtext ORCPT.
		name: "bounce_ret_hdrs",
		run: func(fx *fixture) string {
			env := envelope("alice@mx.example.test", queue.Recipient{Addr: "rej1@remote.test", ORCPT: "rfc822;rej1+2Bx@remote.test", Notify: "FAILURE"})
			env.DSNRet, env.DSNEnvID = "HDRS", "QQ314159"
			id := fx.queueMessage(queue.Active, env, original)
			fx.appendLog(proto.LogBounce, queue.Active, id, smtpFailure)
			fx.mustNotify(proto.ReportBounce, queue.Active, id)
			return id
		},
	},
	{
		// Over bounce_size_limit: only the headers come back.
		name:   "bounce_oversized",
		config: func(c *Config) { c.BounceSizeLimit = 100 },
		run: func(fx *fixture) string {
			id := fx.queueMessage(queue.Deferred, envelope("alice@mx.example.test", queue.Recipient{Addr: "rej1@remote.test"}), original)
			// An expired message: its last deferral, reported as failed.
			fx.appendLog(proto.LogBounce, queue.Deferred, id, proto.LogEntry{
				Recipient: "rej1@remote.test",
				Status:    &dsn.Status{Code: 451, Enhanced: "4.4.1"},
				Action:    proto.ActionFailed,
				Reason:    "connect to 127.0.0.1[127.0.0.1]:2599: Connection refused",
			})
			fx.mustNotify(proto.ReportBounce, queue.Deferred, id)
			return id
		},
	},
	{
		name:   "delay",
		config: func(c *Config) { c.ThreadedBounces = true },
		run: func(fx *fixture) string {
			env := envelope("alice@mx.example.test", queue.Recipient{Addr: "slow@remote.test"}, queue.Recipient{Addr: "never@remote.test", Notify: "NEVER"})
			env.Arrival = now.Add(-4*time.Hour - 10*time.Minute)
			id := fx.queueMessage(queue.Deferred, env, original)
			for _, rcpt := range []string{"slow@remote.test", "slow@remote.test", "never@remote.test"} {
				fx.appendLog(proto.LogDefer, queue.Deferred, id, proto.LogEntry{
					Recipient: rcpt,
					Status:    &dsn.Status{Code: 450, Enhanced: "4.4.1"},
					Action:    proto.ActionDelayed,
					Reason:    "connect to mx.remote.test[192.0.2.25]:25: Connection timed out",
				})
			}
			fx.mustNotify(proto.ReportDelay, queue.Deferred, id)
			return id
		},
	},
	{
		name: "success",
		run: func(fx *fixture) string {
			id := fx.queueMessage(queue.Active, envelope("alice@mx.example.test",
				queue.Recipient{Addr: "bob@mx.example.test", Notify: "SUCCESS,FAILURE"},
				queue.Recipient{Addr: "carol@remote.test", Notify: "SUCCESS"},
				queue.Recipient{Addr: "dave@mx.example.test"}), original)
			fx.appendLog(proto.LogTrace, queue.Active, id,
				proto.LogEntry{Recipient: "bob@mx.example.test", Status: &dsn.Status{Enhanced: "2.0.0"}, Action: proto.ActionDelivered, Reason: "delivered to mailbox"},
				proto.LogEntry{Recipient: "carol@remote.test", Status: &dsn.Status{Code: 250, Enhanced: "2.0.0"}, Action: proto.ActionRelayed,
					Reason: "250 2.0.0 Ok: queued as FAKE123", RemoteMTA: "mx.remote.test", DiagType: "smtp", Diag: "250 2.0.0 Ok: queued as FAKE123"},
				proto.LogEntry{Recipient: "dave@mx.example.test", Status: &dsn.Status{Enhanced: "2.0.0"}, Action: proto.ActionDelivered, Reason: "delivered to mailbox"})
			fx.mustNotify(proto.ReportSuccess, queue.Active, id)
			return id
		},
	},
	{
		name: "verify",
		run: func(fx *fixture) string {
			env := envelope("alice@mx.example.test", queue.Recipient{Addr: "bob@mx.example.test"}, queue.Recipient{Addr: "nobody@mx.example.test"})
			env.Flags = queue.FlagVerify
			id := fx.queueMessage(queue.Active, env, "From: alice@mx.example.test\nSubject: verify\n\n")
			fx.appendLog(proto.LogTrace, queue.Active, id,
				proto.LogEntry{Recipient: "bob@mx.example.test", Status: &dsn.Status{Enhanced: "2.0.0"}, Action: proto.ActionDelivered, Reason: "delivers to mailbox"},
				proto.LogEntry{Recipient: "nobody@mx.example.test", Status: &dsn.Status{Enhanced: "5.1.1"}, Action: proto.ActionFailed, Reason: `unknown user: "nobody"`})
			fx.mustNotify(proto.ReportVerify, queue.Active, id)
			return id
		},
	},
	{
		// sendmail -v: a status report of what really happened.
		name: "trace",
		run: func(fx *fixture) string {
			env := envelope("alice@mx.example.test", queue.Recipient{Addr: "bob@mx.example.test"})
			env.Flags = queue.FlagTrace
			id := fx.queueMessage(queue.Active, env, "From: alice@mx.example.test\nSubject: trace\n\nhi\n")
			fx.appendLog(proto.LogTrace, queue.Active, id,
				proto.LogEntry{Recipient: "bob@mx.example.test", Status: &dsn.Status{Enhanced: "2.0.0"}, Action: proto.ActionDelivered, Reason: "delivered to mailbox"})
			fx.mustNotify(proto.ReportSuccess, queue.Active, id)
			return id
		},
	},
	{
		// A bounce that could not be returned goes to the postmaster.
		name:   "double_bounce",
		config: func(c *Config) { c.Notify2Bounce = true },
		run: func(fx *fixture) string {
			id := fx.queueMessage(queue.Active, envelope("", queue.Recipient{Addr: "alice@remote.test"}), strings.ReplaceAll(original, "alice@mx", "MAILER-DAEMON@mx"))
			fx.appendLog(proto.LogBounce, queue.Active, id, proto.LogEntry{
				Recipient: "alice@remote.test",
				Status:    &dsn.Status{Code: 550, Enhanced: "5.1.1"},
				Action:    proto.ActionFailed,
				Reason:    "host mx.remote.test[192.0.2.25] said: 550 5.1.1 <alice@remote.test>: no such user (in reply to RCPT TO command)",
				RemoteMTA: "mx.remote.test",
				DiagType:  "smtp",
				Diag:      "550 5.1.1 <alice@remote.test>: no such user",
			})
			fx.mustNotify(proto.ReportBounce, queue.Active, id)
			return id
		},
	},
	{
		// SMTPUTF8 mail to an internationalized address.
		name: "bounce_utf8",
		run: func(fx *fixture) string {
			env := envelope("alice@mx.example.test", queue.Recipient{Addr: "j\u00f6rg@b\u00fccher.test"})
			env.Attrs = []queue.Attr{{Name: proto.AttrSMTPUTF8, Value: "yes"}, {Name: proto.AttrEncoding, Value: "8bit"}}
			id := fx.queueMessage(queue.Active, env, original)
			fx.appendLog(proto.LogBounce, queue.Active, id, proto.LogEntry{
				Recipient: "j\u00f6rg@b\u00fccher.test",
				Status:    &dsn.Status{Enhanced: "5.1.1"},
				Action:    proto.ActionFailed,
				Reason:    "unknown user: \"j\u00f6rg\"\r\nInjected: header",
			})
			fx.mustNotify(proto.ReportBounce, queue.Active, id)
			return id
		},
	},
}

func (fx *fixture) mustNotify(report, queueName, id string) {
	fx.t.Helper()
	if rep := fx.notify(report, queueName, id); rep.Status != nil {
		fx.t.Fatalf("notify %s: %v\nlog:\n%s", report, rep.Status, fx.logBuf)
	}
}

func TestGoldenReports(t *testing.T) {
	for _, tc := range goldenCases {
		t.Run(tc.name, func(t *testing.T) {
			fx := newFixture(t, tc.config)
			id := tc.run(fx)
			got := render(fx.cleanup.Messages(), id)
			path := filepath.Join("testdata", "golden", tc.name+".txt")
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("report differs from %s (run with -update after checking):\n--- got ---\n%s", path, got)
			}
		})
	}
}
