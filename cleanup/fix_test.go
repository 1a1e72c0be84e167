package cleanup

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/postern-mta/postern/internal/proto"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// localOpen is a sendmail submission as pickup makes it.
func localOpen(sender string, rcpts ...string) *proto.CleanupOpen {
	o := &proto.CleanupOpen{
		Source: "pickup",
		Flags:  proto.CleanupLocal | proto.CleanupBounceOnReject,
		Sender: sender,
		Attrs:  []proto.Attr{{Name: proto.AttrUID, Value: "0"}, {Name: proto.AttrRewriteContext, Value: "local"}},
	}
	for _, r := range rcpts {
		o.Recipients = append(o.Recipients, proto.Rcpt{Addr: r})
	}
	return o
}

// smtpOpen is a submission from smtpd for a client at addr.
func smtpOpen(clientAddr, sender string, rcpts ...string) *proto.CleanupOpen {
	o := &proto.CleanupOpen{
		Source: "smtpd",
		Sender: sender,
		Attrs: []proto.Attr{
			{Name: proto.AttrClientName, Value: "client.example.test"},
			{Name: proto.AttrClientAddr, Value: clientAddr},
			{Name: proto.AttrHeloName, Value: "c.test"},
			{Name: proto.AttrProtocol, Value: "ESMTP"},
		},
	}
	for _, r := range rcpts {
		o.Recipients = append(o.Recipients, proto.Rcpt{Addr: r})
	}
	return o
}

// TestHeaderFixes runs messages through cleanup and compares what is
// queued (envelope, content, log) with testdata/fix/NAME.golden.
func TestHeaderFixes(t *testing.T) {
	withFull := localOpen("root", "bob")
	withFull.FullName = "Charlie Root"
	extract := localOpen("alice")
	extract.Flags |= proto.CleanupExtractRcpt
	extractResent := localOpen("alice")
	extractResent.Flags |= proto.CleanupExtractRcpt
	local := func(*Config) {}
	cases := []struct {
		name string
		open *proto.CleanupOpen
		mod  func(*Config)
	}{
		// sendmail with a minimal message: From, Date, Message-Id added;
		// bare names completed with @myorigin; Bcc and Return-Path gone.
		{"local-minimal", localOpen("alice", "bob"), local},
		{"local-fullname", withFull, local},
		{"local-nullsender", localOpen("", "bob"), local},
		// SMTP from elsewhere: nothing added, nothing rewritten, Bcc gone.
		{"smtp-remote", smtpOpen("192.0.2.7", "alice@client.example.test", "bob@mx.example.test"), nil},
		// SMTP from an address in local_header_rewrite_clients: like local mail.
		{"smtp-local-client", smtpOpen("127.0.0.1", "alice@client.example.test", "bob@mx.example.test"), func(c *Config) {
			c.LocalHeaderRewrite = func(_ context.Context, attrs []proto.Attr) bool {
				return proto.Lookup(attrs, proto.AttrClientAddr) == "127.0.0.1"
			}
		}},
		{"resent", localOpen("alice", "bob"), local},
		{"sendmail-t", extract, local},
		{"sendmail-t-resent", extractResent, local},
		{"crlf-long-lines", smtpOpen("192.0.2.7", "a@b.test", "bob@mx.example.test"), nil},
		{"no-final-newline", smtpOpen("192.0.2.7", "a@b.test", "bob@mx.example.test"), nil},
		{"not-a-header", localOpen("alice", "bob"), local},
		{"header-size-limit", smtpOpen("192.0.2.7", "a@b.test", "bob@mx.example.test"), func(c *Config) { c.HeaderSizeLimit = 40 }},
		{"headers-only", localOpen("alice", "bob"), local},
		{"canonical-headers", localOpen("alice", "bob"), func(c *Config) {
			c.Canonical = table(t, "inline", "{alice@mx.example.test=Alice.Liddell@example.test, bob@mx.example.test=robert@example.test}")
			c.MasqueradeDomains = []string{"example.test"}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in, err := os.ReadFile(filepath.Join("testdata", "fix", tc.name+".eml"))
			if err != nil {
				t.Fatal(err)
			}
			s := newTestServer(t, tc.mod)
			res, err := s.submit(tc.open, string(in))
			got := describe(t, s, res, err)
			golden := filepath.Join("testdata", "fix", tc.name+".golden")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Errorf("%s differs from %s (run go test -update to accept):\n--- got\n%s\n--- want\n%s", tc.name, golden, got, want)
			}
		})
	}
}

// describe prints what a submission left: the verdict, the queue file
// and the log, with the queue ID replaced by QID.
func describe(t *testing.T, s *testServer, res *proto.CleanupResult, err error) string {
	var b strings.Builder
	id := ""
	if res != nil {
		id = res.QueueID
	}
	switch {
	case err != nil:
		fmt.Fprintf(&b, "status: %v\n", err)
	case res.Held:
		b.WriteString("status: held\n")
	case res.Discarded:
		b.WriteString("status: discarded\n")
	case res.Bounced:
		b.WriteString("status: bounced\n")
	default:
		b.WriteString("status: ok\n")
	}
	if err == nil && !res.Discarded && !res.Bounced {
		q, f := s.queued(id)
		e := f.Envelope
		fmt.Fprintf(&b, "queue: %s\nsender: %s\n", q, e.Sender)
		if e.FullName != "" {
			fmt.Fprintf(&b, "full_name: %s\n", e.FullName)
		}
		if e.DSNRet != "" {
			fmt.Fprintf(&b, "dsn_ret: %s\n", e.DSNRet)
		}
		for _, a := range e.Attrs {
			fmt.Fprintf(&b, "attr: %s=%s\n", a.Name, a.Value)
		}
		for _, r := range e.Recipients {
			fmt.Fprintf(&b, "recipient: %s", r.Addr)
			if r.Orig != "" {
				fmt.Fprintf(&b, " (orig %s)", r.Orig)
			}
			b.WriteString("\n")
		}
		b.WriteString("--- content\n")
		b.WriteString(content(t, f))
	}
	b.WriteString("--- log\n")
	b.WriteString(s.log.String())
	out := b.String()
	if id != "" {
		out = strings.ReplaceAll(out, id, "QID")
	}
	return out
}
