package smtp

import (
	"io"
	"net/textproto"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/proto"
)

// Conversations no real server in the tests gives, played by a script.

// greet sends the greeting and answers EHLO with keywords.
func greet(t *testing.T, c *textproto.Conn, keywords ...string) {
	c.PrintfLine("220 fake.test ESMTP")
	expectLine(t, c, "EHLO mx.example.test")
	lines := append([]string{"fake.test"}, keywords...)
	for i, l := range lines {
		sep := "-"
		if i == len(lines)-1 {
			sep = " "
		}
		c.PrintfLine("250%s%s", sep, l)
	}
}

func sendScripted(t *testing.T, cfg Config, handle func(c *textproto.Conn), rcpts ...string) *proto.DeliverReply {
	t.Helper()
	addr := scriptServer(t, handle)
	ta := startAgent(t, cfg)
	if len(rcpts) == 0 {
		rcpts = []string{"bob@remote.test"}
	}
	reply, _ := ta.send(t, "[127.0.0.1]:"+port(addr), simpleMessage, rcpts...)
	return reply
}

func TestHELOFallbackNoPipelining(t *testing.T) {
	var body atomic.Value
	reply := sendScripted(t, testConfig(t), func(c *textproto.Conn) {
		c.PrintfLine("220 old.test SMTP")
		expectLine(t, c, "EHLO ")
		c.PrintfLine("502 5.5.1 What?")
		expectLine(t, c, "HELO mx.example.test")
		c.PrintfLine("250 old.test")
		for _, cmd := range []string{"MAIL FROM:<alice@mx.example.test>", "RCPT TO:<bob@remote.test>", "DATA"} {
			line := expectLine(t, c, cmd)
			if line != cmd {
				t.Errorf("got %q, want %q (no ESMTP parameters for an SMTP server)", line, cmd)
			}
			if n := c.R.Buffered(); n != 0 {
				t.Errorf("%d bytes pipelined after %q to a server without PIPELINING", n, cmd)
			}
			if cmd == "DATA" {
				c.PrintfLine("354 go ahead")
			} else {
				c.PrintfLine("250 ok")
			}
		}
		b, _ := io.ReadAll(c.DotReader())
		body.Store(string(b))
		c.PrintfLine("250 stored")
		expectEnd(t, c)
	}, "bob@remote.test")
	if r := reply.Results[0]; r.Action != proto.ActionRelayed || r.Status.Enhanced != "2.0.0" || r.Reason != "250 stored" {
		t.Errorf("result = %+v", r)
	}
	if b, _ := body.Load().(string); b != "Subject: test\n\nhello\n" {
		t.Errorf("body %q", b)
	}
}

func TestPipelining(t *testing.T) {
	cfg := testConfig(t)
	cfg.Cache.OnDemand = false
	reply := sendScripted(t, cfg, func(c *textproto.Conn) {
		greet(t, c, "PIPELINING", "8BITMIME")
		expectLine(t, c, "MAIL FROM:<alice@mx.example.test> BODY=8BITMIME")
		// RCPT and DATA came in the same write as MAIL.
		for _, want := range []string{"RCPT TO:<a@remote.test>", "RCPT TO:<b@remote.test>", "DATA"} {
			if c.R.Buffered() == 0 {
				t.Errorf("%s not pipelined", want)
			}
			expectLine(t, c, want)
		}
		c.PrintfLine("250 2.1.0 ok")
		c.PrintfLine("550-5.1.1 first line")
		c.PrintfLine("550 5.1.1 second line")
		c.PrintfLine("250 2.1.5 ok")
		c.PrintfLine("354 go")
		io.ReadAll(c.DotReader())
		c.PrintfLine("250 2.0.0 queued")
		expectEnd(t, c)
	}, "a@remote.test", "b@remote.test")
	if r := reply.Results[0]; r.Reason != "host 127.0.0.1[127.0.0.1] said: 550-5.1.1 first line 550 5.1.1 second line (in reply to RCPT TO command)" || r.Status.Text != "first line second line" {
		t.Errorf("multi-line refusal: %+v", r)
	}
	if r := reply.Results[1]; r.Action != proto.ActionRelayed {
		t.Errorf("result = %+v", r)
	}
}

func TestScriptedFailures(t *testing.T) {
	for _, tc := range []struct {
		name   string
		server func(t *testing.T, c *textproto.Conn)
		cfg    func(*Config)
		action string
		dsn    string
		reason string
		dead   bool
	}{
		{
			name: "5xx greeting defers",
			server: func(t *testing.T, c *textproto.Conn) {
				c.PrintfLine("554 5.7.1 go away")
			},
			action: proto.ActionDelayed, dsn: "4.7.1", dead: true,
			reason: "host 127.0.0.1[127.0.0.1] refused to talk to me: 554 5.7.1 go away",
		},
		{
			name: "421 to EHLO",
			server: func(t *testing.T, c *textproto.Conn) {
				c.PrintfLine("220 fake.test ESMTP")
				expectLine(t, c, "EHLO")
				c.PrintfLine("421 4.3.2 shutting down")
			},
			action: proto.ActionDelayed, dsn: "4.3.2", dead: true,
			reason: "host 127.0.0.1[127.0.0.1] refused to talk to me: 421 4.3.2 shutting down",
		},
		{
			name: "no enhanced code",
			server: func(t *testing.T, c *textproto.Conn) {
				greet(t, c)
				expectLine(t, c, "MAIL")
				c.PrintfLine("250 ok")
				expectLine(t, c, "RCPT")
				c.PrintfLine("550 no such user")
				expectLine(t, c, "RSET")
				c.PrintfLine("250 ok")
			},
			action: proto.ActionFailed, dsn: "5.0.0",
			reason: "host 127.0.0.1[127.0.0.1] said: 550 no such user (in reply to RCPT TO command)",
		},
		{
			name: "protocol error",
			server: func(t *testing.T, c *textproto.Conn) {
				greet(t, c)
				expectLine(t, c, "MAIL")
				c.PrintfLine("354 what?")
				expectLine(t, c, "RSET")
				c.PrintfLine("250 ok")
			},
			action: proto.ActionFailed, dsn: "5.5.0",
			reason: "Protocol error: host 127.0.0.1[127.0.0.1] said: 354 what? (in reply to MAIL FROM command)",
		},
		{
			name: "malformed reply",
			server: func(t *testing.T, c *textproto.Conn) {
				greet(t, c)
				expectLine(t, c, "MAIL")
				c.PrintfLine("hello there")
			},
			action: proto.ActionDelayed, dsn: "4.4.2",
			reason: `conversation with 127.0.0.1[127.0.0.1] failed while sending MAIL FROM: malformed server reply: "hello there"`,
		},
		{
			name: "lost connection",
			server: func(t *testing.T, c *textproto.Conn) {
				greet(t, c, "PIPELINING")
				expectLine(t, c, "MAIL")
			},
			action: proto.ActionDelayed, dsn: "4.4.2",
			reason: "lost connection with 127.0.0.1[127.0.0.1] while sending MAIL FROM",
		},
		{
			name: "timeout after the dot",
			server: func(t *testing.T, c *textproto.Conn) {
				greet(t, c)
				expectLine(t, c, "MAIL")
				c.PrintfLine("250 ok")
				expectLine(t, c, "RCPT")
				c.PrintfLine("250 ok")
				expectLine(t, c, "DATA")
				c.PrintfLine("354 go")
				io.ReadAll(c.DotReader())
				c.ReadLine() // say nothing; the client gives up and closes
			},
			cfg:    func(c *Config) { c.Timeouts.DataDone = 200 * time.Millisecond },
			action: proto.ActionDelayed, dsn: "4.4.2",
			reason: "conversation with 127.0.0.1[127.0.0.1] timed out while sending end of data -- message may be sent more than once",
		},
		{
			name: "DATA accepted with no recipient",
			server: func(t *testing.T, c *textproto.Conn) {
				greet(t, c, "PIPELINING")
				expectLine(t, c, "MAIL")
				expectLine(t, c, "RCPT")
				expectLine(t, c, "DATA")
				c.PrintfLine("250 ok")
				c.PrintfLine("550 5.1.1 unknown")
				c.PrintfLine("354 go anyway") // broken server
				expectLine(t, c, ".")
				c.PrintfLine("250 nothing")
			},
			action: proto.ActionFailed, dsn: "5.1.1",
			reason: "host 127.0.0.1[127.0.0.1] said: 550 5.1.1 unknown (in reply to RCPT TO command)",
		},
		{
			name: "greets with my own name",
			server: func(t *testing.T, c *textproto.Conn) {
				c.PrintfLine("220 mx.example.test ESMTP")
				expectLine(t, c, "EHLO")
				c.PrintfLine("250 mx.example.test")
			},
			action: proto.ActionFailed, dsn: "5.4.6",
			reason: "mail for 127.0.0.1 loops back to myself",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(t)
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			reply := sendScripted(t, cfg, func(c *textproto.Conn) { tc.server(t, c) })
			r := reply.Results[0]
			if r.Action != tc.action || r.Status.Enhanced != tc.dsn || r.Reason != tc.reason {
				t.Errorf("result = %s %s %q\n  want %s %s %q", r.Action, r.Status.Enhanced, r.Reason, tc.action, tc.dsn, tc.reason)
			}
			if reply.DestinationDead != tc.dead {
				t.Errorf("DestinationDead = %v, want %v", reply.DestinationDead, tc.dead)
			}
		})
	}
}

func TestReplyParsing(t *testing.T) {
	for _, tc := range []struct {
		in   string
		code int
		enh  string
		text string
		msg  string
		err  bool
	}{
		{"250 ok\r\n", 250, "2.0.0", "250 ok", "ok", false},
		{"250 2.1.5 ok\r\n", 250, "2.1.5", "250 2.1.5 ok", "ok", false},
		{"550-5.1.1 a\r\n550 5.1.1 b\r\n", 550, "5.1.1", "550-5.1.1 a 550 5.1.1 b", "a b", false},
		{"451 5.1.1 class mismatch\r\n", 451, "4.0.0", "451 5.1.1 class mismatch", "5.1.1 class mismatch", false},
		{"220\r\n", 220, "2.0.0", "220", "", false},
		{"250 bare lf\n", 250, "2.0.0", "250 bare lf", "bare lf", false},
		{"250 ctl\x01x\r\n", 250, "2.0.0", "250 ctl?x", "ctl?x", false},
		{"25\r\n", 0, "", "", "", true},
		{"abc def\r\n", 0, "", "", "", true},
		{"999 no\r\n", 0, "", "", "", true},
		{"250-unfinished\r\n", 0, "", "", "", true},
		{"250x\r\n", 0, "", "", "", true},
	} {
		r, err := readReply(newTestReader(tc.in))
		if tc.err {
			if err == nil {
				t.Errorf("%q: no error", tc.in)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		if r.code != tc.code || r.enh != tc.enh || r.text != tc.text || r.message() != tc.msg {
			t.Errorf("%q: %d %q %q %q", tc.in, r.code, r.enh, r.text, r.message())
		}
	}
	// A huge line is cut, not kept.
	r, err := readReply(newTestReader("250 " + strings.Repeat("x", 100000) + "\r\n"))
	if err != nil || len(r.text) != maxReplyLine {
		t.Errorf("long line: %v, %d bytes", err, len(r.text))
	}
	// Endless continuation lines are an error.
	if _, err := readReply(newTestReader(strings.Repeat("250-x\r\n", maxReplyLines+1))); err == nil {
		t.Error("no error for too many lines")
	}
}
