package bounce

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/daemon"
	"github.com/postern-mta/postern/internal/dsn"
	"github.com/postern-mta/postern/internal/proto"
	"github.com/postern-mta/postern/queue"
)

func TestAppendKeepsEveryField(t *testing.T) {
	fx := newFixture(t, nil)
	id := fx.queueMessage(queue.Active, envelope("alice@mx.example.test", queue.Recipient{Addr: "rej1@remote.test"}), original)
	at := time.Date(2026, 11, 22, 11, 0, 0, 123456000, time.UTC)
	e := smtpFailure
	e.Offset, e.Orig, e.Time = 77, "Rej1@remote.test", at
	fx.appendLog(proto.LogBounce, queue.Active, id, e,
		proto.LogEntry{Recipient: "x@remote.test", Status: &dsn.Status{Code: 451}, Action: proto.ActionDelayed})
	recs, err := fx.layout.ReadLog(queue.Bounce, id)
	if err != nil {
		t.Fatal(err)
	}
	want := []queue.LogRecord{
		{Recipient: "rej1@remote.test", Orig: "Rej1@remote.test", Offset: 77, Status: "5.1.1", Action: "failed",
			Reason: smtpFailure.Reason, RemoteMTA: "127.0.0.1", DiagType: "smtp", Diag: smtpFailure.Diag, Time: at},
		// No enhanced code: made from the class; no time: the clock.
		{Recipient: "x@remote.test", Status: "4.0.0", Action: "delayed", Time: now},
	}
	if len(recs) != len(want) {
		t.Fatalf("log has %d records, want %d: %+v", len(recs), len(want), recs)
	}
	for i := range want {
		if !recs[i].Time.Equal(want[i].Time) {
			t.Errorf("record %d time = %v, want %v", i, recs[i].Time, want[i].Time)
		}
		recs[i].Time, want[i].Time = time.Time{}, time.Time{}
		if recs[i] != want[i] {
			t.Errorf("record %d = %+v\nwant %+v", i, recs[i], want[i])
		}
	}
}

func TestBadRequests(t *testing.T) {
	fx := newFixture(t, nil)
	id := fx.queueMessage(queue.Active, envelope("alice@mx.example.test", queue.Recipient{Addr: "a@b.test"}), original)
	for _, req := range []proto.BounceRequest{
		{Op: proto.BounceOpAppend, Log: "bounce", QueueID: "../../etc/passwd"},
		{Op: proto.BounceOpAppend, Log: "nonsense", QueueID: id},
		{Op: proto.BounceOpNotify, Report: "nonsense", QueueID: id},
		{Op: "frobnicate", QueueID: id},
	} {
		rep := fx.call(&req)
		if rep.Status == nil || !rep.Status.Permanent() {
			t.Errorf("%+v: status %v, want a permanent refusal", req, rep.Status)
		}
	}
}

// A report starts, as every message Postfix's daemons post, with a
// Received: header naming this host and the report's own queue ID, and
// its Date:.
func TestReportStartsWithReceived(t *testing.T) {
	fx := newFixture(t, nil)
	id := fx.queueMessage(queue.Active, envelope("alice@mx.example.test", queue.Recipient{Addr: "rej1@remote.test"}), original)
	fx.appendLog(proto.LogBounce, queue.Active, id, smtpFailure)
	if rep := fx.notify(proto.ReportBounce, queue.Active, id); rep.Status != nil {
		t.Fatalf("notify: %v", rep.Status)
	}
	want := "Received: by mx.example.test (Postern)\n\tid NEWQID1; Sun, 22 Nov 2026 11:07:51 +0000 (UTC)\n" +
		"Date: Sun, 22 Nov 2026 11:07:51 +0000 (UTC)\nFrom: "
	if got := fx.cleanup.Messages()[0].Content; !strings.HasPrefix(got, want) {
		t.Errorf("report starts\n%s\nwant\n%s", got[:min(len(got), len(want)+40)], want)
	}
}

func TestBounceRemovesLogAndLogsNotice(t *testing.T) {
	fx := newFixture(t, nil)
	id := fx.queueMessage(queue.Active, envelope("alice@mx.example.test", queue.Recipient{Addr: "rej1@remote.test"}), original)
	fx.appendLog(proto.LogBounce, queue.Active, id, smtpFailure)
	rep := fx.notify(proto.ReportBounce, queue.Active, id)
	if rep.Status != nil || rep.NoticeID != "NEWQID1" {
		t.Fatalf("notify = %+v, want notice NEWQID1", rep)
	}
	if fx.logExists(queue.Bounce, id) {
		t.Error("bounce log still there after the report was queued")
	}
	if want := "postern/bounce[42]: " + id + ": sender non-delivery notification: NEWQID1\n"; !strings.Contains(fx.logBuf.String(), want) {
		t.Errorf("mail log %q lacks %q", fx.logBuf, want)
	}
	m := fx.cleanup.Messages()[0]
	if m.Open.Sender != "" || m.Open.Source != "bounce" || m.Open.Flags != proto.CleanupNoChecks {
		t.Errorf("envelope %+v: want null sender, source bounce, no checks", m.Open)
	}
	// The message moved since qmgr asked (found elsewhere).
	id2 := fx.queueMessage(queue.Deferred, envelope("bob@mx.example.test", queue.Recipient{Addr: "rej1@remote.test"}), original)
	fx.appendLog(proto.LogBounce, queue.Active, id2, smtpFailure)
	if rep := fx.notify(proto.ReportBounce, queue.Active, id2); rep.Status != nil || rep.NoticeID != "NEWQID2" {
		t.Fatalf("notify of a moved message = %+v", rep)
	}
}

func TestCleanupDownIsTemporary(t *testing.T) {
	fx := newFixture(t, nil)
	id := fx.queueMessage(queue.Active, envelope("alice@mx.example.test", queue.Recipient{Addr: "rej1@remote.test"}), original)
	fx.appendLog(proto.LogBounce, queue.Active, id, smtpFailure)
	fx.cleanup.Stop()
	rep := fx.notify(proto.ReportBounce, queue.Active, id)
	if rep.Status == nil || !rep.Status.Temporary() {
		t.Fatalf("notify with cleanup down = %+v, want a temporary status", rep)
	}
	if !fx.logExists(queue.Bounce, id) {
		t.Error("bounce log removed although no report was sent")
	}
	if !strings.Contains(fx.logBuf.String(), "warning: "+id+": cannot send sender non-delivery notification") {
		t.Errorf("no warning in the mail log:\n%s", fx.logBuf)
	}
}

func TestCleanupRefusalGivesUp(t *testing.T) {
	fx := newFixture(t, nil)
	fx.cleanup.SetAnswer(refuse(dsn.Perm("5.1.3", "bad address syntax")))
	id := fx.queueMessage(queue.Active, envelope("alice@mx.example.test", queue.Recipient{Addr: "rej1@remote.test"}), original)
	fx.appendLog(proto.LogBounce, queue.Active, id, smtpFailure)
	if rep := fx.notify(proto.ReportBounce, queue.Active, id); rep.Status != nil {
		t.Fatalf("notify = %+v, want success (nothing more can be done)", rep)
	}
	if fx.logExists(queue.Bounce, id) {
		t.Error("bounce log kept although the report can never be sent")
	}
	fx.cleanup.SetAnswer(refuse(dsn.Temp("4.3.1", "Insufficient system storage")))
	id = fx.queueMessage(queue.Active, envelope("alice@mx.example.test", queue.Recipient{Addr: "rej1@remote.test"}), original)
	fx.appendLog(proto.LogBounce, queue.Active, id, smtpFailure)
	if rep := fx.notify(proto.ReportBounce, queue.Active, id); rep.Status == nil || !rep.Status.Temporary() {
		t.Fatalf("notify = %+v, want a temporary status", rep)
	}
}

func TestReconnectsAfterCleanupRestart(t *testing.T) {
	fx := newFixture(t, nil)
	fx.cleanup.SetHangUp(true)
	for i := range 3 {
		id := fx.queueMessage(queue.Active, envelope("alice@mx.example.test", queue.Recipient{Addr: "rej1@remote.test"}), original)
		fx.appendLog(proto.LogBounce, queue.Active, id, smtpFailure)
		if rep := fx.notify(proto.ReportBounce, queue.Active, id); rep.Status != nil {
			t.Fatalf("report %d: %v", i, rep.Status)
		}
	}
	if n := len(fx.cleanup.Messages()); n != 3 {
		t.Errorf("cleanup got %d reports, want 3", n)
	}
}

// TestWhoGetsWhat checks the rules of who is sent which report.
func TestWhoGetsWhat(t *testing.T) {
	type sent struct{ sender, rcpt, subject string }
	tests := []struct {
		name   string
		config func(*Config)
		sender string
		notify string // the recipient's NOTIFY
		done   bool   // the recipient is marked done in the queue file
		report string
		log    string
		want   []sent
		logs   string // a line the mail log must have
		keep   bool   // the log stays
	}{
		{name: "bounce to sender", sender: "alice@a.test", report: proto.ReportBounce, log: proto.LogBounce,
			want: []sent{{"", "alice@a.test", "Undelivered Mail Returned to Sender"}}},
		{name: "NOTIFY=NEVER", sender: "alice@a.test", notify: "NEVER", report: proto.ReportBounce, log: proto.LogBounce},
		{name: "NOTIFY without FAILURE", sender: "alice@a.test", notify: "DELAY", report: proto.ReportBounce, log: proto.LogBounce},
		{name: "NOTIFY=NEVER, postmaster still told", config: func(c *Config) { c.NotifyBounce = true }, sender: "alice@a.test", notify: "NEVER",
			report: proto.ReportBounce, log: proto.LogBounce,
			want: []sent{{"double-bounce@mx.example.test", "postmaster@mx.example.test", "Postmaster Copy: Undelivered Mail"}}},
		{name: "null sender, no 2bounce", sender: "", report: proto.ReportBounce, log: proto.LogBounce,
			logs: "undeliverable bounce discarded"},
		{name: "null sender, 2bounce", config: func(c *Config) { c.Notify2Bounce = true }, sender: "", report: proto.ReportBounce, log: proto.LogBounce,
			want: []sent{{"double-bounce@mx.example.test", "postmaster@mx.example.test", "Postmaster Copy: Undelivered Mail"}},
			logs: "postmaster non-delivery notification: NEWQID1"},
		{name: "failed double bounce", config: func(c *Config) { c.Notify2Bounce, c.NotifyBounce = true, true }, sender: "double-bounce@mx.example.test",
			report: proto.ReportBounce, log: proto.LogBounce, logs: "warning: ORIGQID: undeliverable postmaster notification discarded"},
		{name: "bare double bounce", config: func(c *Config) { c.Notify2Bounce = true }, sender: "Double-Bounce",
			report: proto.ReportBounce, log: proto.LogBounce, logs: "undeliverable postmaster notification discarded"},
		{name: "delay to sender", sender: "alice@a.test", report: proto.ReportDelay, log: proto.LogDefer, keep: true,
			want: []sent{{"", "alice@a.test", "Delayed Mail (still being retried)"}}, logs: "sender delay notification: NEWQID1"},
		{name: "delay with postmaster copy", config: func(c *Config) { c.NotifyDelay = true }, sender: "alice@a.test", report: proto.ReportDelay, log: proto.LogDefer, keep: true,
			want: []sent{{"", "alice@a.test", "Delayed Mail (still being retried)"}, {"double-bounce@mx.example.test", "postmaster@mx.example.test", "Postmaster Warning: Delayed Mail"}},
			logs: "postmaster delay notification: NEWQID2"},
		{name: "delay, NOTIFY=FAILURE", sender: "alice@a.test", notify: "FAILURE", report: proto.ReportDelay, log: proto.LogDefer, keep: true},
		{name: "delay, delivered since", sender: "alice@a.test", done: true, report: proto.ReportDelay, log: proto.LogDefer, keep: true},
		{name: "delay, null sender", sender: "", report: proto.ReportDelay, log: proto.LogDefer, keep: true},
		{name: "success", sender: "alice@a.test", notify: "SUCCESS", report: proto.ReportSuccess, log: proto.LogTrace,
			want: []sent{{"", "alice@a.test", "Successful Mail Delivery Report"}}, logs: "sender delivery status notification: NEWQID1"},
		{name: "success not asked for", sender: "alice@a.test", report: proto.ReportSuccess, log: proto.LogTrace},
		{name: "success, null sender", sender: "", notify: "SUCCESS", report: proto.ReportSuccess, log: proto.LogTrace},
		{name: "verify", sender: "alice@a.test", notify: "NEVER", report: proto.ReportVerify, log: proto.LogTrace,
			want: []sent{{"", "alice@a.test", "Mail Delivery Status Report"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fx := newFixture(t, tt.config)
			qname := queue.Active
			id := fx.queueMessage(qname, envelope(tt.sender, queue.Recipient{Addr: "r@remote.test", Notify: tt.notify}), original)
			if tt.done {
				f, err := queue.Open(fx.layout.Path(qname, id), true)
				if err != nil {
					t.Fatal(err)
				}
				if err := f.MarkDone(0); err != nil {
					t.Fatal(err)
				}
				f.Close()
			}
			fx.appendLog(tt.log, qname, id, proto.LogEntry{Recipient: "r@remote.test", Status: &dsn.Status{Enhanced: "5.1.1"}, Action: "failed", Reason: "no"})
			if rep := fx.notify(tt.report, qname, id); rep.Status != nil {
				t.Fatalf("notify: %v", rep.Status)
			}
			var got []sent
			for _, m := range fx.cleanup.Messages() {
				_, rest, _ := strings.Cut(m.Content, "Subject: ")
				subject, _, _ := strings.Cut(rest, "\n")
				got = append(got, sent{m.Open.Sender, m.Open.Recipients[0].Addr, subject})
			}
			if len(got) != len(tt.want) {
				t.Fatalf("sent %+v, want %+v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("report %d = %+v, want %+v", i, got[i], tt.want[i])
				}
			}
			logQueue, _ := logQueueOf(tt.log)
			if fx.logExists(logQueue, id) != tt.keep {
				t.Errorf("%s log exists = %v, want %v", tt.log, !tt.keep, tt.keep)
			}
			if tt.logs != "" && !strings.Contains(strings.ReplaceAll(fx.logBuf.String(), id, "ORIGQID"), tt.logs) {
				t.Errorf("mail log lacks %q:\n%s", tt.logs, fx.logBuf)
			}
		})
	}
}

func TestMessageGone(t *testing.T) {
	fx := newFixture(t, nil)
	id := fx.queueMessage(queue.Active, envelope("alice@mx.example.test", queue.Recipient{Addr: "rej1@remote.test"}), original)
	fx.appendLog(proto.LogBounce, queue.Active, id, smtpFailure)
	if err := fx.layout.Remove(queue.Active, id); err != nil {
		t.Fatal(err)
	}
	if rep := fx.notify(proto.ReportBounce, queue.Active, id); rep.Status != nil {
		t.Fatalf("notify = %+v, want success: there is no one to tell", rep)
	}
	if len(fx.cleanup.Messages()) != 0 || fx.logExists(queue.Bounce, id) {
		t.Error("a report was sent or the log kept for a deleted message")
	}
	if !strings.Contains(fx.logBuf.String(), id+": message file not found") {
		t.Errorf("mail log lacks the warning:\n%s", fx.logBuf)
	}
}

func TestCorruptMessageIsTemporary(t *testing.T) {
	fx := newFixture(t, nil)
	id := fx.queueMessage(queue.Active, envelope("alice@mx.example.test", queue.Recipient{Addr: "rej1@remote.test"}), original)
	fx.appendLog(proto.LogBounce, queue.Active, id, smtpFailure)
	if err := os.Truncate(fx.layout.Path(queue.Active, id), 10); err != nil {
		t.Fatal(err)
	}
	rep := fx.notify(proto.ReportBounce, queue.Active, id)
	if rep.Status == nil || !rep.Status.Temporary() {
		t.Fatalf("notify = %+v, want a temporary status", rep)
	}
	if !fx.logExists(queue.Bounce, id) {
		t.Error("bounce log removed")
	}
}

// TestOverSocket runs the daemon's connection handler on a Unix socket
// and talks to it with proto's client, as qmgr does: several requests on
// one connection.
func TestOverSocket(t *testing.T) {
	fx := newFixture(t, nil)
	path := filepath.Join(shortDir(t), "bounce")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- daemon.ServeConns(ctx, []net.Listener{ln}, 0, time.Second, fx.srv.handle) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("ServeConns: %v", err)
		}
	}()

	id := fx.queueMessage(queue.Active, envelope("alice@mx.example.test", queue.Recipient{Addr: "rej1@remote.test"}), original)
	c, err := proto.DialBounce(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Call(ctx, &proto.BounceRequest{Op: proto.BounceOpAppend, Log: proto.LogBounce, Queue: queue.Active, QueueID: id, Entries: []proto.LogEntry{smtpFailure}}); err != nil {
		t.Fatalf("append: %v", err)
	}
	rep, err := c.Call(ctx, &proto.BounceRequest{Op: proto.BounceOpNotify, Report: proto.ReportBounce, Queue: queue.Active, QueueID: id})
	if err != nil || rep.NoticeID != "NEWQID1" {
		t.Fatalf("notify = %+v, %v", rep, err)
	}
	_, err = c.Call(ctx, &proto.BounceRequest{Op: proto.BounceOpAppend, Log: "bogus", QueueID: id})
	if st := dsn.FromError(err); st == nil || !st.Permanent() {
		t.Fatalf("bad append: %v, want a permanent status", err)
	}
	// A client speaking the wrong protocol is turned away.
	if _, err := proto.Dial(ctx, path, proto.ServiceCleanup, proto.VersionCleanup); err == nil {
		t.Error("a cleanup client was welcomed by bounce")
	}
}

// TestSMTPUTF8Types: the message/global types are used only when the
// original asked for SMTPUTF8 and something in the report is not ASCII.
func TestSMTPUTF8Types(t *testing.T) {
	tests := []struct {
		name, rcpt, headers string
		requested           bool
		want                string
	}{
		{"ascii", "r@remote.test", "Subject: x\n", true, "message/delivery-status"},
		{"utf8 address", "r\u00e9@remote.test", "Subject: x\n", true, "message/global-delivery-status"},
		{"utf8 header", "r@remote.test", "Subject: caf\u00e9\n", true, "message/global-delivery-status"},
		{"not requested", "r@remote.test", "Subject: caf\u00e9\n", false, "message/delivery-status"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fx := newFixture(t, nil)
			env := envelope("alice@mx.example.test", queue.Recipient{Addr: tt.rcpt})
			if tt.requested {
				env.Attrs = []queue.Attr{{Name: proto.AttrSMTPUTF8, Value: "1"}}
			}
			id := fx.queueMessage(queue.Active, env, tt.headers+"\nbody\n")
			fx.appendLog(proto.LogBounce, queue.Active, id, proto.LogEntry{Recipient: tt.rcpt, Status: &dsn.Status{Enhanced: "5.1.1"}, Action: "failed", Reason: "no"})
			fx.mustNotify(proto.ReportBounce, queue.Active, id)
			content := fx.cleanup.Messages()[0].Content
			if !strings.Contains(content, "\nContent-Type: "+tt.want+"\n") {
				t.Errorf("report lacks Content-Type: %s:\n%s", tt.want, content)
			}
		})
	}
}
