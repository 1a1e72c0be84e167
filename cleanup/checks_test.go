package cleanup

import (
	"errors"
	"strings"
	"testing"

	"github.com/postern-mta/postern/internal/dsn"
	"github.com/postern-mta/postern/internal/proto"
	"github.com/postern-mta/postern/queue"
)

const checksMsg = "From: alice@client.example.test\nTo: bob@mx.example.test\nSubject: %s\n\nfirst body line\nsecond body line\n"

// TestCheckActions runs every header_checks/body_checks action and looks
// at what a user would: the answer to the client, the queue, the log.
func TestCheckActions(t *testing.T) {
	type want struct {
		status  string // "" = accepted
		queue   string // where the message is ("" = nowhere)
		log     string // a log line fragment
		content string // a content fragment
		absent  string // content that must be gone
		rcpts   string // the recipients, comma separated, when set
		attr    string // an envelope attribute name=value
	}
	cases := []struct {
		name    string
		header  string // header_checks rules
		body    string // body_checks rules
		subject string
		want    want
	}{
		{"reject default text", "/^Subject: bad/ REJECT", "", "bad thing", want{
			status: "550 5.7.1 message content rejected",
			log:    "QID: reject: header Subject: bad thing from client.example.test[192.0.2.7]; from=<alice@client.example.test> to=<bob@mx.example.test> proto=ESMTP helo=<c.test>: 5.7.1 message content rejected"}},
		{"reject with text", "/^Subject: bad/ REJECT Subject not allowed", "", "bad thing", want{
			status: "550 5.7.1 Subject not allowed", log: ": 5.7.1 Subject not allowed"}},
		{"reject own code", "/^Subject: bad/ REJECT 5.7.9 no such thing", "", "bad thing", want{status: "550 5.7.9 no such thing"}},
		{"reject temporary", "/^Subject: bad/ REJECT 4.7.1 later please", "", "bad thing", want{status: "451 4.7.1 later please"}},
		{"body reject", "", "/^second/ REJECT body not allowed", "fine", want{
			status: "550 5.7.1 body not allowed", log: "QID: reject: body second body line from"}},
		{"warn", "/^Subject:/ WARN looked at", "", "x", want{queue: queue.Incoming, log: "QID: warning: header Subject: x from client.example.test[192.0.2.7]; from=<alice@client.example.test> to=<bob@mx.example.test> proto=ESMTP helo=<c.test>: looked at"}},
		{"info", "/^Subject:/ INFO noted", "", "x", want{queue: queue.Incoming, log: "QID: info: header Subject: x from"}},
		{"hold", "/^Subject: review/ HOLD held for review", "", "review me", want{queue: queue.Hold, log: "QID: hold: header Subject: review me from client.example.test[192.0.2.7]; from=<alice@client.example.test> to=<bob@mx.example.test> proto=ESMTP helo=<c.test>: held for review"}},
		{"discard", "/^Subject: spam/ DISCARD dropped", "", "spam", want{status: "discarded", log: "QID: discard: header Subject: spam"}},
		{"ignore", "/^Subject:/ IGNORE", "", "x", want{queue: queue.Incoming, absent: "Subject:"}},
		{"strip", "/^Subject:/ STRIP gone", "", "x", want{queue: queue.Incoming, absent: "Subject:", log: "QID: strip: header Subject: x"}},
		{"replace", "/^Subject: (.*)/ REPLACE X-Old-Subject: $1", "", "x", want{queue: queue.Incoming, content: "X-Old-Subject: x\n", absent: "\nSubject: x", log: "QID: replace: header"}},
		{"prepend", "/^Subject:/ PREPEND X-Seen: yes", "", "x", want{queue: queue.Incoming, content: "X-Seen: yes\nSubject: x\n"}},
		{"body replace", "", "/^first body line$/ REPLACE replaced line", "x", want{queue: queue.Incoming, content: "\nreplaced line\nsecond body line\n"}},
		{"body ignore", "", "/^first/ IGNORE", "x", want{queue: queue.Incoming, content: "\n\nsecond body line\n", absent: "first"}},
		{"redirect", "/^Subject:/ REDIRECT elsewhere@other.test", "", "x", want{queue: queue.Incoming, rcpts: "elsewhere@other.test", log: "QID: redirect: header"}},
		{"bcc", "/^Subject:/ BCC copy@other.test", "", "x", want{queue: queue.Incoming, rcpts: "bob@mx.example.test,copy@other.test"}},
		{"filter", "/^Subject:/ FILTER smtp:[127.0.0.1]:10025", "", "x", want{queue: queue.Incoming, attr: "filter=smtp:[127.0.0.1]:10025", log: "QID: filter: header"}},
		{"pass stops checks", "/^From:/ PASS trusted\n/^Subject:/ REJECT", "", "x", want{queue: queue.Incoming, log: "QID: pass: header From:"}},
		{"dunno", "/^Subject:/ DUNNO", "", "x", want{queue: queue.Incoming}},
		{"unknown action", "/^Subject:/ FROB", "", "x", want{queue: queue.Incoming, log: "warning: unknown command in header_checks map: FROB"}},
		{"bad replace text", "/^Subject:/ REPLACE not a header", "", "x", want{queue: queue.Incoming, content: "Subject: x\n", log: "warning: bad REPLACE header text"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestServer(t, func(c *Config) {
				if tc.header != "" {
					c.HeaderChecks = table(t, "regexp", tc.header)
					c.MIMEHeaderChecks = c.HeaderChecks
					c.NestedHeaderChecks = c.HeaderChecks
				}
				if tc.body != "" {
					c.BodyChecks = table(t, "regexp", tc.body)
				}
			})
			res, err := s.submit(smtpOpen("192.0.2.7", "alice@client.example.test", "bob@mx.example.test"),
				strings.Replace(checksMsg, "%s", tc.subject, 1))
			id := ""
			if res != nil {
				id = res.QueueID
			}
			log := strings.ReplaceAll(s.log.String(), id, "QID")
			switch {
			case tc.want.status == "discarded":
				if err != nil || !res.Discarded {
					t.Fatalf("got %+v, %v; want discarded", res, err)
				}
			case tc.want.status != "":
				var st *dsn.Status
				if !errors.As(err, &st) || st.String() != tc.want.status {
					t.Fatalf("got %+v, %v; want %s", res, err, tc.want.status)
				}
			case err != nil:
				t.Fatalf("submit: %v\nlog:\n%s", err, log)
			}
			if tc.want.log != "" && !strings.Contains(log, tc.want.log) {
				t.Errorf("log lacks %q:\n%s", tc.want.log, log)
			}
			if tc.want.queue == "" {
				for _, q := range []string{queue.Incoming, queue.Hold} {
					if n := len(anyFiles(t, s.c.layout.Dir(q))); n != 0 {
						t.Errorf("%d files left in %s", n, q)
					}
				}
				return
			}
			q, f := s.queued(id)
			if q != tc.want.queue {
				t.Errorf("message in %s, want %s", q, tc.want.queue)
			}
			if res.Held != (q == queue.Hold) {
				t.Errorf("Held = %v in %s", res.Held, q)
			}
			c := content(t, f)
			if tc.want.content != "" && !strings.Contains(c, tc.want.content) {
				t.Errorf("content lacks %q:\n%s", tc.want.content, c)
			}
			if tc.want.absent != "" && strings.Contains(c, tc.want.absent) {
				t.Errorf("content still has %q:\n%s", tc.want.absent, c)
			}
			if tc.want.rcpts != "" {
				var got []string
				for _, r := range f.Envelope.Recipients {
					got = append(got, r.Addr)
				}
				if strings.Join(got, ",") != tc.want.rcpts {
					t.Errorf("recipients %q, want %s", got, tc.want.rcpts)
				}
			}
			if tc.want.attr != "" {
				name, value, _ := strings.Cut(tc.want.attr, "=")
				if got := f.Envelope.Attr(name); got != value {
					t.Errorf("attribute %s = %q, want %q", name, got, value)
				}
			}
		})
	}
}

// A local submission that header_checks reject goes back to its sender.
func TestRejectLocalBounces(t *testing.T) {
	s := newTestServer(t, func(c *Config) {
		c.HeaderChecks = table(t, "regexp", "/^Subject: reject-me/ REJECT Subject not allowed")
	})
	res, err := s.submit(localOpen("alice", "alice"), "Subject: reject-me\n\nbody\n")
	if err != nil || !res.Bounced {
		t.Fatalf("got %+v, %v; want bounced", res, err)
	}
	log := strings.ReplaceAll(s.log.String(), res.QueueID, "QID")
	for _, want := range []string{
		"QID: reject: header Subject: reject-me from local; from=<alice@mx.example.test> to=<alice@mx.example.test>: 5.7.1 Subject not allowed",
		"QID: to=<alice@mx.example.test>, orig_to=<alice>, relay=none, delay=",
		"dsn=5.7.1, status=bounced (Subject not allowed)",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	if len(s.bounce.calls) != 1 {
		t.Fatalf("%d bounce calls", len(s.bounce.calls))
	}
	call := s.bounce.calls[0]
	if call.queue != queue.Hold || call.id != res.QueueID || len(call.entries) != 1 {
		t.Fatalf("bounce call %+v", call)
	}
	e := call.entries[0]
	if e.Recipient != "alice@mx.example.test" || e.Action != proto.ActionFailed || e.Status.Enhanced != "5.7.1" || e.Reason != "Subject not allowed" {
		t.Errorf("entry %+v", e)
	}
	if !strings.Contains(call.content, "Subject: reject-me") {
		t.Errorf("bounce could not read the message: %q", call.content)
	}
	for _, q := range []string{queue.Incoming, queue.Hold} {
		if n := len(anyFiles(t, s.c.layout.Dir(q))); n != 0 {
			t.Errorf("%d files left in %s", n, q)
		}
	}

	// The bounce service is down: the submitter is told to try again.
	s.bounce.err = errors.New("connect: no such file")
	_, err = s.submit(localOpen("alice", "alice"), "Subject: reject-me\n\nbody\n")
	var st *dsn.Status
	if !errors.As(err, &st) || !st.Temporary() {
		t.Fatalf("bounce down: %v, want a temporary failure", err)
	}
	if n := len(anyFiles(t, s.c.layout.Dir(queue.Hold))); n != 0 {
		t.Errorf("%d files left in hold", n)
	}
}

// A local submission that is accepted ends up in incoming, not hold.
func TestLocalAcceptedLeavesHold(t *testing.T) {
	s := newTestServer(t, nil)
	res, err := s.submit(localOpen("alice", "bob"), "Subject: x\n\nbody\n")
	if err != nil {
		t.Fatal(err)
	}
	if q, _ := s.queued(res.QueueID); q != queue.Incoming || res.Held {
		t.Fatalf("message in %s (held %v)", q, res.Held)
	}
}

func TestTooManyHops(t *testing.T) {
	s := newTestServer(t, func(c *Config) { c.HopcountLimit = 3 })
	msg := strings.Repeat("Received: from a by b; date\n", 3) + "Subject: loop\n\nbody\n"
	_, err := s.submit(smtpOpen("192.0.2.7", "a@b.test", "bob@mx.example.test"), msg)
	var st *dsn.Status
	if !errors.As(err, &st) || st.String() != "554 5.4.0 Error: too many hops" {
		t.Fatalf("got %v", err)
	}
	res, err := s.submit(smtpOpen("192.0.2.7", "a@b.test", "bob@mx.example.test"), strings.Repeat("Received: x\n", 2)+"\nbody\n")
	if err != nil || res.QueueID == "" {
		t.Fatalf("2 hops: %v", err)
	}
}

func TestMessageTooBig(t *testing.T) {
	s := newTestServer(t, func(c *Config) { c.MessageSizeLimit = 100 })
	_, err := s.submit(smtpOpen("192.0.2.7", "a@b.test", "bob@mx.example.test"), "Subject: big\n\n"+strings.Repeat("x", 200)+"\n")
	var st *dsn.Status
	if !errors.As(err, &st) || st.String() != "552 5.3.4 Error: message file too big" {
		t.Fatalf("got %v", err)
	}
	if n := len(anyFiles(t, s.c.layout.Dir(queue.Incoming))); n != 0 {
		t.Errorf("%d files left in incoming", n)
	}
}

// Part headers are checked with mime_header_checks, the headers of an
// attached message with nested_header_checks; body_checks never see
// either.
func TestMIMEChecks(t *testing.T) {
	msg := "Subject: mime\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"BB\"\n\npreamble\n--BB\nContent-Type: text/plain\n\nhello body\n--BB\nContent-Type: message/rfc822\n\nSubject: inner\nX-Inner: yes\n\ninner body\n--BB--\nepilogue\n"
	s := newTestServer(t, func(c *Config) {
		c.HeaderChecks = table(t, "regexp", "/^Subject:/ WARN primary")
		c.MIMEHeaderChecks = table(t, "regexp", "/^Content-Type:/ WARN mime")
		c.NestedHeaderChecks = table(t, "regexp", "/^/ WARN nested")
		c.BodyChecks = table(t, "regexp", "/./ WARN body")
	})
	res, err := s.submit(smtpOpen("192.0.2.7", "a@b.test", "bob@mx.example.test"), msg)
	if err != nil {
		t.Fatal(err)
	}
	log := strings.ReplaceAll(s.log.String(), res.QueueID, "QID")
	for _, want := range []string{
		"warning: header Subject: mime from", ": primary",
		"warning: header Content-Type: multipart/mixed; boundary=\"BB\" from", // a primary MIME header: mime_header_checks
		"warning: header Content-Type: text/plain from",
		"warning: header Content-Type: message/rfc822 from",
		"warning: header Subject: inner from", ": nested",
		"warning: header X-Inner: yes from",
		"warning: body hello body from",
		"warning: body inner body from",
		"warning: body preamble from",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q", want)
		}
	}
	for _, bad := range []string{"body Content-Type", "body --BB", "body Subject: inner"} {
		if strings.Contains(log, bad) {
			t.Errorf("log has %q", bad)
		}
	}
	_, f := s.queued(res.QueueID)
	if got := content(t, f); got != msg {
		t.Errorf("content changed:\n%q\nwant\n%q", got, msg)
	}
	if t.Failed() {
		t.Log(log)
	}
}

func TestBodyChecksSizeLimit(t *testing.T) {
	s := newTestServer(t, func(c *Config) {
		c.BodyChecks = table(t, "regexp", "/^late/ REJECT")
		c.BodyChecksSizeLimit = 50
	})
	msg := "Subject: x\n\n" + strings.Repeat("filler line\n", 10) + "late line\n"
	if _, err := s.submit(smtpOpen("192.0.2.7", "a@b.test", "bob@mx.example.test"), msg); err != nil {
		t.Fatalf("a line past body_checks_size_limit was checked: %v", err)
	}
}

func TestTableFailureIsTemporary(t *testing.T) {
	s := newTestServer(t, func(c *Config) { c.HeaderChecks = table(t, "fail", "checks") })
	_, err := s.submit(smtpOpen("192.0.2.7", "a@b.test", "bob@mx.example.test"), "Subject: x\n\nbody\n")
	var st *dsn.Status
	if !errors.As(err, &st) || st.String() != "451 4.3.0 Error: queue file write error" {
		t.Fatalf("got %v", err)
	}
	if !strings.Contains(s.log.String(), "header_checks map lookup problem -- message not accepted, try again later") {
		t.Errorf("log:\n%s", s.log)
	}
}
