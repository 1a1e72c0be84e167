// Package e2e holds postsuper's end-to-end scenario: hold, release,
// delete, requeue and force-expire on a running Postern instance
// (internal/mtatest), with a real SMTP sink. It needs the whole mail path
// and takes longer than the unit tests, so it lives apart: "go test
// ./postsuper/e2e/".
package e2e

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/postern-mta/postern/internal/mtatest"
)

func content(subject string) string {
	return "From: alice@mx.example.test\r\nTo: user@remote.test\r\nSubject: " + subject + "\r\n\r\nhello\r\n"
}

func postsuper(t *testing.T, in *mtatest.Instance, want string, args ...string) {
	t.Helper()
	res := in.Run("postsuper", args...)
	if res.Exit != 0 || res.Stderr != want || res.Stdout != "" {
		t.Errorf("postsuper %q: exit %d, stdout %q, stderr:\n%s\nwant:\n%s", args, res.Exit, res.Stdout, res.Stderr, want)
	}
}

func sinkHas(sink *mtatest.Sink, subject string) bool {
	for _, m := range sink.Messages() {
		if strings.Contains(string(m.Data), "Subject: "+subject+"\r\n") {
			return true
		}
	}
	return false
}

func TestQueueAdministrationE2E(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test skipped with -short")
	}
	in := mtatest.New(t)
	in.RelayToClosedPort(t)
	in.Set("alias_maps", "")
	in.Set("alias_database", "")
	in.Start()
	sink := mtatest.NewSink(t)

	a := in.SubmitSMTP(t, "alice@mx.example.test", []string{"user@remote.test"}, content("held"))
	b := in.SubmitSMTP(t, "alice@mx.example.test", []string{"user@remote.test"}, content("deleted"))
	c := in.SubmitSMTP(t, "alice@mx.example.test", []string{"user@remote.test"}, content("requeued"))
	d := in.SubmitSMTP(t, "alice@mx.example.test", []string{"user@remote.test"}, content("plain"))
	in.WaitQueue(t, "four deferred messages", map[string]string{a: "deferred", b: "deferred", c: "deferred", d: "deferred"})

	postsuper(t, in, "postsuper: "+a+": placed on hold\npostsuper: Placed on hold: 1 message\n", "-h", a)
	postsuper(t, in, "postsuper: "+b+": removed\npostsuper: Deleted: 1 message\n", "-d", b)
	postsuper(t, in, "postsuper: "+c+": requeued\npostsuper: Requeued: 1 message\n", "-r", c)
	postsuper(t, in, "postsuper: Deleted: 0 messages\n", "-d", b)
	postsuper(t, in, "postsuper: warning: invalid mail queue id: bogus/id\npostsuper: Deleted: 0 messages\n", "-d", "bogus/id")
	// The requeued message has a new ID, and was tried again.
	got := in.WaitQueue(t, "the requeued message deferred under a new ID", map[string]string{a: "hold", d: "deferred", "*": "deferred"})
	var c2 string
	for id := range got {
		if id != a && id != d {
			c2 = id
		}
	}
	if c2 == c {
		t.Fatalf("requeued message kept its ID %s", c)
	}
	if res := in.Run("postqueue", "-p"); !strings.Contains(res.Stdout, a+"!") {
		t.Errorf("held message without its '!':\n%s", res.Stdout)
	}

	// The destination comes back: what is deferred goes, what is held
	// stays.
	in.Set("relayhost", "["+host(sink.Addr)+"]:"+port(sink.Addr))
	in.Reload()
	flushUntil(t, in, "the sink to get the requeued and plain messages", func() bool {
		return sinkHas(sink, "requeued") && sinkHas(sink, "plain")
	})
	in.WaitQueue(t, "only the held message left", map[string]string{a: "hold"})
	if sinkHas(sink, "held") || sinkHas(sink, "deleted") {
		t.Fatalf("the sink got a held or deleted message: %d messages", sink.Count())
	}

	postsuper(t, in, "postsuper: "+a+": released from hold\npostsuper: Released from hold: 1 message\n", "-H", a)
	// Released mail is due at once: the next deferred scan or a flush
	// takes it.
	flushUntil(t, in, "the released message at the sink", func() bool { return sinkHas(sink, "held") })
	in.WaitQueue(t, "an empty queue", map[string]string{})
	if res := in.Run("postqueue", "-p"); res.Stdout != "Mail queue is empty\n" {
		t.Errorf("listing %q", res.Stdout)
	}
	if n := sink.Count(); n != 3 {
		t.Errorf("the sink got %d messages, want 3", n)
	}

	// Force-expiry: the next attempt returns the message to its sender.
	sink.RcptReply(func(rcpt string) *smtp.SMTPError {
		if rcpt == "later@remote.test" {
			return &smtp.SMTPError{Code: 450, EnhancedCode: smtp.EnhancedCode{4, 2, 0}, Message: "try again later"}
		}
		return nil
	})
	e := in.SubmitSMTP(t, "alice@mx.example.test", []string{"later@remote.test"}, content("expired"))
	in.WaitQueue(t, "the message to expire deferred", map[string]string{e: "deferred"})
	postsuper(t, in, "postsuper: "+e+": expired\npostsuper: Force-expired: 1 message\n", "-e", e)
	if res := in.Run("postqueue", "-j"); !strings.Contains(res.Stdout, `"forced_expire": true`) {
		t.Errorf("postqueue -j after -e: %s", res.Stdout)
	}
	expired := e + `: from=<alice@mx.example.test>, status=force-expired, returned to sender`
	flushUntil(t, in, "the expired message returned", func() bool { return strings.Contains(in.Log(), expired) })
}

// flushUntil runs postqueue -f until cond holds. A flush sent while a
// reload replaces qmgr can reach the qmgr that is stopping and be lost, so
// one flush is not enough right after a reload.
func flushUntil(t *testing.T, in *mtatest.Instance, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		if res := in.Run("postqueue", "-f"); res.Exit != 0 {
			t.Logf("postqueue -f: exit %d: %s", res.Exit, res.Stderr)
		}
		for end := time.Now().Add(2 * time.Second); time.Now().Before(end) && !cond(); {
			time.Sleep(50 * time.Millisecond)
		}
	}
}

func host(addr string) string {
	h, _, _ := net.SplitHostPort(addr)
	return h
}

func port(addr string) string {
	_, p, _ := net.SplitHostPort(addr)
	return p
}
