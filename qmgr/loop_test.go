package qmgr

import (
	"context"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/dsn"
	"github.com/postern-mta/postern/internal/proto"
	"github.com/postern-mta/postern/queue"
)

func rcptStatus(code int, enh, text string) *proto.RcptResult {
	st := &dsn.Status{Code: code, Enhanced: enh, Text: text}
	action := proto.ActionRelayed
	if st.Permanent() {
		action = proto.ActionFailed
	} else if st.Temporary() {
		action = proto.ActionDelayed
	}
	return &proto.RcptResult{Status: st, Action: action, Reason: "host mx said: " + st.String(), DiagType: "smtp", Diag: st.String()}
}

func TestDeliverAndRemove(t *testing.T) {
	b := newBench(t)
	smtp := b.agent("smtp", &fakeAgent{})
	local := b.agent("local", &fakeAgent{})
	b.start(testConfig(b.dir))
	id := b.submit(queue.Incoming, queue.Envelope{Sender: "alice@mx.example.test", Attrs: []queue.Attr{{Name: "client_name", Value: "c.test"}}},
		"bob@remote.test", "carol@remote.test", "dave@mx.example.test", "erin@other.test")
	b.waitLog(id + ": removed")
	if !regexp.MustCompile(regexp.QuoteMeta(id) + `: from=<alice@mx.example.test>, size=\d+, nrcpt=4 \(queue active\)`).MatchString(b.logs.String()) {
		t.Errorf("no (queue active) line in\n%s", b.logs)
	}
	if b.where(id) != "" {
		t.Errorf("message still in %s", b.where(id))
	}
	reqs := smtp.requests()
	if len(reqs) != 2 {
		t.Fatalf("smtp got %d requests, want 2 (one per next hop): %+v", len(reqs), reqs)
	}
	for _, r := range reqs {
		if r.Queue != "active" || r.QueueID != id || r.Sender != "alice@mx.example.test" || r.Arrival.IsZero() || r.Active.Before(r.Arrival) ||
			proto.Lookup(r.Attrs, "client_name") != "c.test" || r.Size == 0 {
			t.Errorf("request %+v", r)
		}
		if r.Nexthop == "remote.test" && len(r.Recipients) != 2 {
			t.Errorf("remote.test request has %d recipients, want 2", len(r.Recipients))
		}
	}
	if lr := local.requests(); len(lr) != 1 || lr[0].Nexthop != "mx.example.test" || lr[0].Recipients[0].Addr != "dave@mx.example.test" {
		t.Errorf("local requests %+v", lr)
	}
}

func TestMixedResults(t *testing.T) {
	b := newBench(t)
	b.agent("smtp", &fakeAgent{answer: func(_ *proto.DeliverRequest, r proto.DeliverRcpt) *proto.RcptResult {
		switch {
		case strings.HasPrefix(r.Addr, "bad"):
			return rcptStatus(550, "5.1.1", "no such user")
		case strings.HasPrefix(r.Addr, "later"):
			return rcptStatus(450, "4.2.0", "greylisted")
		}
		return nil
	}})
	cfg := testConfig(b.dir)
	cfg.MinBackoff = time.Minute
	cfg.MaxBackoff = time.Hour
	b.start(cfg)
	before := time.Now()
	id := b.submit(queue.Incoming, queue.Envelope{Sender: "alice@mx.example.test"}, "ok@remote.test", "bad@remote.test", "later@remote.test")
	waitFor(t, 10*time.Second, "message in deferred", func() bool { return b.where(id) == queue.Deferred })
	f, err := queue.Open(b.layout.Path(queue.Deferred, id), false)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	done := []bool{}
	for _, r := range f.Envelope.Recipients {
		done = append(done, r.Done)
	}
	if !done[0] || !done[1] || done[2] {
		t.Errorf("done marks %v, want [true true false]", done)
	}
	fi, _ := os.Stat(f.Path)
	if next := queue.NextTry(fi); next.Before(before.Add(time.Minute)) || next.After(time.Now().Add(time.Minute+time.Second)) {
		t.Errorf("next try in %v, want minimal_backoff_time (1m)", time.Until(next))
	}
	defers, _ := b.layout.ReadLog(queue.Defer, id)
	if len(defers) != 1 || defers[0].Recipient != "later@remote.test" || defers[0].Status != "4.2.0" || defers[0].Action != "delayed" {
		t.Errorf("defer log %+v", defers)
	}
	waitFor(t, 5*time.Second, "bounce report", func() bool { return len(b.bounce.reports()) == 1 })
	rep := b.bounce.reports()[0]
	if rep.Report != proto.ReportBounce || rep.Queue != "active" || len(rep.Entries) != 1 || rep.Entries[0].Recipient != "bad@remote.test" ||
		rep.Entries[0].Action != proto.ActionFailed {
		t.Errorf("bounce report %+v", rep)
	}
}

func TestRetryAfterBackoffThenRemove(t *testing.T) {
	b := newBench(t)
	tries := 0
	a := b.agent("smtp", &fakeAgent{})
	a.set(func(a *fakeAgent) {
		a.answer = func(_ *proto.DeliverRequest, r proto.DeliverRcpt) *proto.RcptResult {
			tries++
			if tries == 1 {
				return rcptStatus(450, "4.2.0", "greylisted")
			}
			return nil
		}
	})
	cfg := testConfig(b.dir)
	cfg.QueueRunDelay = 50 * time.Millisecond
	cfg.MinBackoff, cfg.MaxBackoff = 100*time.Millisecond, 100*time.Millisecond
	b.start(cfg)
	id := b.submit(queue.Incoming, queue.Envelope{Sender: "alice@mx.example.test"}, "x@remote.test")
	b.waitLog(id + ": removed")
	if strings.Count(b.logs.String(), id+": from=<alice@mx.example.test>") != 2 {
		t.Errorf("want two (queue active) lines:\n%s", b.logs)
	}
	if _, err := os.Stat(b.layout.Path(queue.Defer, id)); err == nil {
		t.Errorf("defer log left behind")
	}
}

func TestDeadDestinationIsSuspended(t *testing.T) {
	b := newBench(t)
	smtp := b.agent("smtp", &fakeAgent{dead: func(r *proto.DeliverRequest) bool { return r.Nexthop == "dead.test" }})
	cfg := testConfig(b.dir)
	cfg.MinBackoff, cfg.MaxBackoff = time.Hour, time.Hour
	// Queued at once, so that the destination has more mail than its
	// window when the first failures come back. (An idle destination
	// forgets its failures, as in Postfix: a trickle of mail to a site
	// that refuses at once tries every message.)
	var dead []string
	for range 12 {
		dead = append(dead, b.submit(queue.Incoming, queue.Envelope{Sender: "a@mx.example.test"}, "x@dead.test"))
	}
	b.start(cfg)
	for _, id := range dead {
		waitFor(t, 10*time.Second, id+" deferred", func() bool { return b.where(id) == queue.Deferred })
	}
	tried := 0
	for _, r := range smtp.requests() {
		if r.Nexthop == "dead.test" {
			tried++
		}
	}
	// The window starts at 5; a cohort of failures suspends the
	// destination, so the rest are deferred without being tried.
	if tried >= len(dead) || tried == 0 {
		t.Errorf("dead.test was tried %d times for %d messages", tried, len(dead))
	}
	if !strings.Contains(b.logs.String(), "status=deferred (delivery temporarily suspended: connect to dead.test[192.0.2.1]:25: Connection refused)") {
		t.Errorf("no suspension in log:\n%s", b.logs)
	}
	// A live destination still flows.
	ok := b.submit(queue.Incoming, queue.Envelope{Sender: "a@mx.example.test"}, "y@alive.test")
	b.waitLog(ok + ": removed")
	// And a flush tries the dead one again.
	rep := b.q.control(b.ctlCtx, &proto.ControlRequest{Op: proto.OpFlush})
	if rep.Status != nil || rep.Count != len(dead) {
		t.Errorf("flush answered %+v, want count %d", rep, len(dead))
	}
	waitFor(t, 10*time.Second, "a new try of dead.test", func() bool {
		n := 0
		for _, r := range smtp.requests() {
			if r.Nexthop == "dead.test" {
				n++
			}
		}
		return n > tried
	})
}

func TestAgentDownDefers(t *testing.T) {
	b := newBench(t)
	cfg := testConfig(b.dir)
	cfg.MinBackoff, cfg.MaxBackoff = time.Hour, time.Hour
	b.start(cfg)
	id := b.submit(queue.Incoming, queue.Envelope{Sender: "a@mx.example.test"}, "x@gone.test")
	waitFor(t, 10*time.Second, "deferred", func() bool { return b.where(id) == queue.Deferred })
	b.waitLog(id + ": to=<x@gone.test>, relay=none")
	if !strings.Contains(b.logs.String(), "dsn=4.3.0, status=deferred (mail transport unavailable)") {
		t.Errorf("log:\n%s", b.logs)
	}
	// The transport stays unavailable: the next message is not tried.
	id2 := b.submit(queue.Incoming, queue.Envelope{Sender: "a@mx.example.test"}, "y@gone.test")
	waitFor(t, 10*time.Second, "deferred", func() bool { return b.where(id2) == queue.Deferred })
	if n := strings.Count(b.logs.String(), "warning: "); n != 1 {
		t.Errorf("%d warnings, want one failed connection:\n%s", n, b.logs)
	}
}

func TestErrorTransportAndTransportMaps(t *testing.T) {
	b := newBench(t)
	errAgent := b.agent("error", &fakeAgent{answer: func(req *proto.DeliverRequest, _ proto.DeliverRcpt) *proto.RcptResult {
		st, _ := dsn.Parse(req.ErrorText)
		return &proto.RcptResult{Status: st, Action: proto.ActionFailed, Reason: st.Text}
	}})
	b.start(testConfig(b.dir))
	id := b.submit(queue.Incoming, queue.Envelope{Sender: "a@mx.example.test"}, "x@error.test")
	b.waitLog(id + ": removed")
	reqs := errAgent.requests()
	if len(reqs) != 1 || reqs[0].ErrorText != "5.1.1 no such domain" {
		t.Errorf("error agent requests %+v", reqs)
	}
	if r := b.bounce.reports(); len(r) != 1 || r[0].Entries[0].Status.Enhanced != "5.1.1" {
		t.Errorf("bounce reports %+v", r)
	}
}

func TestLifetimeExpiry(t *testing.T) {
	b := newBench(t)
	b.agent("smtp", &fakeAgent{answer: func(*proto.DeliverRequest, proto.DeliverRcpt) *proto.RcptResult {
		return rcptStatus(451, "4.4.2", "lost connection")
	}})
	cfg := testConfig(b.dir)
	cfg.MaxLifetime = time.Minute
	b.start(cfg)
	id := b.submit(queue.Incoming, queue.Envelope{Sender: "alice@mx.example.test", Arrival: time.Now().Add(-2 * time.Minute)}, "x@remote.test", "y@remote.test")
	b.waitLog(id + ": from=<alice@mx.example.test>, status=expired, returned to sender")
	b.waitLog(id + ": removed")
	r := b.bounce.reports()
	if len(r) != 1 || r[0].Report != proto.ReportBounce || len(r[0].Entries) != 2 {
		t.Fatalf("bounce reports %+v", r)
	}
	for _, e := range r[0].Entries {
		if e.Action != proto.ActionFailed || e.Status.Enhanced != "4.4.2" || !strings.Contains(e.Reason, "lost connection") {
			t.Errorf("expired entry %+v (status %v), want action failed, 4.4.2 and the last reason", e, e.Status)
		}
	}
}

func TestBounceLifetimeForNullSender(t *testing.T) {
	b := newBench(t)
	b.agent("smtp", &fakeAgent{answer: func(*proto.DeliverRequest, proto.DeliverRcpt) *proto.RcptResult {
		return rcptStatus(451, "4.4.2", "lost connection")
	}})
	cfg := testConfig(b.dir)
	cfg.BounceLifetime = 0
	b.start(cfg)
	id := b.submit(queue.Incoming, queue.Envelope{Sender: ""}, "x@remote.test")
	b.waitLog(id + ": from=<>, status=expired, returned to sender")
}

func TestForcedExpire(t *testing.T) {
	b := newBench(t)
	smtp := b.agent("smtp", &fakeAgent{})
	id := b.submit(queue.Deferred, queue.Envelope{Sender: "alice@mx.example.test", Flags: queue.FlagForcedExpire}, "x@remote.test", "y@remote.test")
	f, err := queue.Open(b.layout.Path(queue.Deferred, id), false)
	if err != nil {
		t.Fatal(err)
	}
	off := f.Envelope.Recipients[0].Offset
	f.Close()
	b.layout.AppendLog(queue.Defer, id, []queue.LogRecord{{Recipient: "x@remote.test", Offset: off, Status: "4.4.1", Action: "delayed", Reason: "connect to mx: Connection refused"}})
	b.layout.SetNextTry(b.layout.Path(queue.Deferred, id), time.Now().Add(time.Hour))
	b.start(testConfig(b.dir))
	rep := b.q.control(b.ctlCtx, &proto.ControlRequest{Op: proto.OpFlushID, ID: id})
	if rep.Count != 1 {
		t.Errorf("flush-id answered %+v", rep)
	}
	b.waitLog(id + ": from=<alice@mx.example.test>, status=force-expired, returned to sender")
	b.waitLog(id + ": removed")
	if n := len(smtp.requests()); n != 0 {
		t.Errorf("a force-expired message was tried %d times", n)
	}
	r := b.bounce.reports()
	if len(r) != 1 || len(r[0].Entries) != 2 {
		t.Fatalf("reports %+v", r)
	}
	got := map[string]string{}
	for _, e := range r[0].Entries {
		got[e.Recipient] = e.Status.Enhanced + " " + e.Reason
	}
	if got["x@remote.test"] != "4.4.1 connect to mx: Connection refused" || got["y@remote.test"] != "4.7.0 message is administratively expired" {
		t.Errorf("expiry reasons %v", got)
	}
}

// An expired recipient's report keeps what the last try learnt from the
// remote server (Remote-MTA, "smtp; 450 …"), as Postfix's, which turns
// the defer log into the bounce: from this round's deferral and from the
// defer log of an earlier one (postsuper -e).
func TestExpiryKeepsRemoteDiagnostic(t *testing.T) {
	b := newBench(t)
	b.agent("smtp", &fakeAgent{answer: func(*proto.DeliverRequest, proto.DeliverRcpt) *proto.RcptResult {
		res := rcptStatus(450, "4.2.0", "greylisted")
		res.RemoteMTA = "dns; mx.remote.test"
		return res
	}})
	cfg := testConfig(b.dir)
	cfg.MaxLifetime = time.Minute
	b.start(cfg)
	id := b.submit(queue.Incoming, queue.Envelope{Sender: "alice@mx.example.test", Arrival: time.Now().Add(-2 * time.Minute)}, "x@remote.test")
	b.waitLog(id + ": removed")

	forced := b.submit(queue.Deferred, queue.Envelope{Sender: "alice@mx.example.test", Flags: queue.FlagForcedExpire}, "y@remote.test")
	f, err := queue.Open(b.layout.Path(queue.Deferred, forced), false)
	if err != nil {
		t.Fatal(err)
	}
	off := f.Envelope.Recipients[0].Offset
	f.Close()
	b.layout.AppendLog(queue.Defer, forced, []queue.LogRecord{{Recipient: "y@remote.test", Offset: off, Status: "4.2.0", Action: "delayed",
		Reason: "host mx said: 450 4.2.0 greylisted", RemoteMTA: "dns; mx.remote.test", DiagType: "smtp", Diag: "450 4.2.0 greylisted"}})
	b.q.control(b.ctlCtx, &proto.ControlRequest{Op: proto.OpFlushID, ID: forced})
	b.waitLog(forced + ": removed")

	r := b.bounce.reports()
	if len(r) != 2 {
		t.Fatalf("reports %+v", r)
	}
	for _, rep := range r {
		e := rep.Entries[0]
		if e.RemoteMTA != "dns; mx.remote.test" || e.DiagType != "smtp" || e.Diag != "450 4.2.0 greylisted" {
			t.Errorf("%s: expired entry has remote MTA %q, diagnostic %q; %q, want the last try's", e.Recipient, e.RemoteMTA, e.DiagType, e.Diag)
		}
	}
}

func TestDelayWarningOnce(t *testing.T) {
	b := newBench(t)
	b.agent("smtp", &fakeAgent{answer: func(*proto.DeliverRequest, proto.DeliverRcpt) *proto.RcptResult {
		return rcptStatus(450, "4.2.0", "greylisted")
	}})
	cfg := testConfig(b.dir)
	cfg.QueueRunDelay = 50 * time.Millisecond
	cfg.MinBackoff, cfg.MaxBackoff = 50*time.Millisecond, 50*time.Millisecond
	b.start(cfg)
	id := b.submit(queue.Incoming, queue.Envelope{Sender: "alice@mx.example.test", WarnTime: time.Now().Add(-time.Second)}, "x@remote.test")
	waitFor(t, 10*time.Second, "three tries", func() bool {
		return strings.Count(b.logs.String(), id+": from=<alice@mx.example.test>, size") >= 3
	})
	delays := 0
	for _, r := range b.bounce.reports() {
		if r.Report == proto.ReportDelay {
			delays++
			if len(r.Entries) != 1 || r.Entries[0].Reason == "" {
				t.Errorf("delay report %+v", r)
			}
		}
	}
	if delays != 1 {
		t.Errorf("%d delay warnings, want 1", delays)
	}
}

func TestFlushSiteAndDeferTransports(t *testing.T) {
	b := newBench(t)
	slow := b.agent("slow", &fakeAgent{})
	smtp := b.agent("smtp", &fakeAgent{})
	cfg := testConfig(b.dir)
	cfg.MinBackoff, cfg.MaxBackoff = time.Hour, time.Hour
	b.start(cfg)
	held := b.submit(queue.Incoming, queue.Envelope{Sender: "a@mx.example.test"}, "x@slow.test")
	waitFor(t, 10*time.Second, "deferred", func() bool { return b.where(held) == queue.Deferred })
	b.waitLog("status=deferred (deferred transport)")
	if len(slow.requests()) != 0 {
		t.Fatal("a deferred transport was used")
	}
	rep := b.q.control(b.ctlCtx, &proto.ControlRequest{Op: proto.OpFlush})
	if rep.Count != 1 {
		t.Errorf("flush count %d, want 1", rep.Count)
	}
	b.waitLog(held + ": removed")

	// flush-site: only sites in fast_flush_domains, only their messages.
	smtp.set(func(a *fakeAgent) {
		a.answer = func(*proto.DeliverRequest, proto.DeliverRcpt) *proto.RcptResult {
			return rcptStatus(450, "4.2.0", "later")
		}
	})
	a := b.submit(queue.Incoming, queue.Envelope{Sender: "a@mx.example.test"}, "x@flush.test")
	c := b.submit(queue.Incoming, queue.Envelope{Sender: "a@mx.example.test"}, "x@other.test")
	waitFor(t, 10*time.Second, "deferred", func() bool { return b.where(a) == queue.Deferred && b.where(c) == queue.Deferred })
	rep = b.q.control(b.ctlCtx, &proto.ControlRequest{Op: proto.OpFlushSite, Site: "other.test"})
	if rep.Status == nil || rep.Status.Code != 459 || rep.Status.String() != "459 <other.test>: service unavailable" {
		t.Errorf("flush-site other.test: %+v", rep)
	}
	n := len(smtp.requests())
	rep = b.q.control(b.ctlCtx, &proto.ControlRequest{Op: proto.OpFlushSite, Site: "Flush.Test"})
	if rep.Status != nil || rep.Count != 1 {
		t.Errorf("flush-site flush.test: %+v", rep)
	}
	waitFor(t, 10*time.Second, "retry of flush.test", func() bool { return len(smtp.requests()) > n })
	time.Sleep(100 * time.Millisecond) // nothing else should follow
	for _, r := range smtp.requests()[n:] {
		if r.Nexthop != "flush.test" {
			t.Errorf("flush-site tried %s", r.Nexthop)
		}
	}
}

func TestRecoveryAndHold(t *testing.T) {
	b := newBench(t)
	b.agent("smtp", &fakeAgent{})
	left := b.submit(queue.Active, queue.Envelope{Sender: "a@mx.example.test"}, "x@remote.test")
	held := b.submit(queue.Hold, queue.Envelope{Sender: "a@mx.example.test"}, "y@remote.test")
	corrupt := b.submit(queue.Incoming, queue.Envelope{Sender: "a@mx.example.test"}, "z@remote.test")
	p := b.layout.Path(queue.Incoming, corrupt)
	data, _ := os.ReadFile(p)
	os.WriteFile(p, data[:len(data)-3], 0o600)
	b.start(testConfig(b.dir))
	b.waitLog(left + ": removed")
	waitFor(t, 10*time.Second, "corrupt file set aside", func() bool { return b.where(corrupt) == "" })
	if _, err := os.Stat(b.layout.Path(queue.Corrupt, corrupt)); err != nil {
		t.Errorf("corrupt file not in corrupt/: %v", err)
	}
	b.waitLog(`saving corrupt file "` + corrupt + `" from queue "active" to queue "corrupt"`)
	b.q.control(b.ctlCtx, &proto.ControlRequest{Op: proto.OpFlush})
	time.Sleep(50 * time.Millisecond)
	if b.where(held) != queue.Hold {
		t.Errorf("held message moved to %q", b.where(held))
	}
}

func TestVerifyAndSuccessNotices(t *testing.T) {
	b := newBench(t)
	smtp := b.agent("smtp", &fakeAgent{})
	b.start(testConfig(b.dir))
	v := b.submit(queue.Incoming, queue.Envelope{Sender: "a@mx.example.test", Flags: queue.FlagVerify}, "x@remote.test")
	b.waitLog(v + ": removed")
	if r := smtp.requests(); len(r) != 1 || r[0].Flags&proto.DeliverVerify == 0 {
		t.Errorf("verify request %+v", r)
	}
	s := b.submit(queue.Incoming, queue.Envelope{Sender: "a@mx.example.test"}, "x@remote.test NOTIFY=SUCCESS,FAILURE", "y@remote.test")
	b.waitLog(s + ": removed")
	got := map[string]int{}
	for _, r := range b.bounce.reports() {
		got[r.QueueID+" "+r.Report] = len(r.Entries)
	}
	if got[v+" verify"] != 1 || got[s+" success"] != 1 || len(got) != 2 {
		t.Errorf("reports %v", got)
	}
}

func TestSoftBounce(t *testing.T) {
	b := newBench(t)
	b.agent("smtp", &fakeAgent{answer: func(*proto.DeliverRequest, proto.DeliverRcpt) *proto.RcptResult {
		return rcptStatus(550, "5.1.1", "no such user")
	}})
	cfg := testConfig(b.dir)
	cfg.SoftBounce = true
	b.start(cfg)
	id := b.submit(queue.Incoming, queue.Envelope{Sender: "a@mx.example.test"}, "x@remote.test")
	waitFor(t, 10*time.Second, "deferred", func() bool { return b.where(id) == queue.Deferred })
	recs, _ := b.layout.ReadLog(queue.Defer, id)
	if len(recs) != 1 || recs[0].Status != "4.1.1" {
		t.Errorf("defer log %+v, want 4.1.1", recs)
	}
	if len(b.bounce.reports()) != 0 {
		t.Errorf("soft_bounce sent a bounce")
	}
}

func TestBounceServiceDownKeepsFailure(t *testing.T) {
	b := newBench(t)
	b.agent("smtp", &fakeAgent{answer: func(*proto.DeliverRequest, proto.DeliverRcpt) *proto.RcptResult {
		return rcptStatus(550, "5.1.1", "no such user")
	}})
	b.bounce.setFail(true)
	cfg := testConfig(b.dir)
	cfg.MinBackoff, cfg.MaxBackoff = time.Hour, time.Hour
	b.start(cfg)
	id := b.submit(queue.Incoming, queue.Envelope{Sender: "a@mx.example.test"}, "x@remote.test")
	waitFor(t, 10*time.Second, "deferred", func() bool { return b.where(id) == queue.Deferred })
	f, err := queue.Open(b.layout.Path(queue.Deferred, id), false)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Envelope.Recipients[0].Done {
		t.Error("a failure the bounce service could not record was marked done")
	}
}

func TestAgentCrashDefers(t *testing.T) {
	b := newBench(t)
	b.agent("smtp", &fakeAgent{crash: func(*proto.DeliverRequest) bool { return true }})
	cfg := testConfig(b.dir)
	cfg.MinBackoff, cfg.MaxBackoff = time.Hour, time.Hour
	b.start(cfg)
	id := b.submit(queue.Incoming, queue.Envelope{Sender: "a@mx.example.test"}, "x@remote.test")
	waitFor(t, 10*time.Second, "deferred", func() bool { return b.where(id) == queue.Deferred })
	b.waitLog("dsn=4.3.0, status=deferred (unknown mail transport error)")
}

func TestConnectionsReusedAndActiveLimit(t *testing.T) {
	b := newBench(t)
	smtp := b.agent("smtp", &fakeAgent{})
	cfg := testConfig(b.dir)
	cfg.ActiveLimit = 3
	var ids []string
	for range 30 {
		ids = append(ids, b.submit(queue.Incoming, queue.Envelope{Sender: "a@mx.example.test"}, "x@remote.test"))
	}
	b.start(cfg)
	for _, id := range ids {
		b.waitLog(id + ": removed")
	}
	smtp.mu.Lock()
	conns, peak := smtp.conns, smtp.peak
	smtp.mu.Unlock()
	if peak > 3 {
		t.Errorf("%d deliveries at once with an active limit of 3", peak)
	}
	if conns > 3 {
		t.Errorf("%d connections to the agent for 30 deliveries, at most 3 at once", conns)
	}
}

// An agent that stops (a restart, an idle exit) closes the connections
// qmgr keeps idle for it. The next delivery finds its pooled connection
// closed and goes to the new agent on a new connection, without a
// warning or a deferral.
func TestAgentRestartClosesIdleConnections(t *testing.T) {
	b := newBench(t)
	old := &fakeAgent{}
	stopOld := b.serveStoppable("smtp", old.handle)
	b.start(testConfig(b.dir))
	id := b.submit(queue.Incoming, queue.Envelope{Sender: "a@mx.example.test"}, "x@remote.test")
	b.waitLog(id + ": removed")
	stopOld() // closes the idle connection qmgr keeps in its pool
	fresh := b.agent("smtp", &fakeAgent{})
	id = b.submit(queue.Incoming, queue.Envelope{Sender: "a@mx.example.test"}, "y@remote.test")
	b.waitLog(id + ": removed")
	if strings.Contains(b.logs.String(), "warning") || strings.Contains(b.logs.String(), "deferred") {
		t.Errorf("log:\n%s", b.logs)
	}
	if n, m := len(old.requests()), len(fresh.requests()); n != 1 || m != 1 {
		t.Errorf("old agent got %d requests, new one %d; want 1 and 1", n, m)
	}
}

// A request the agent has read is never sent again, even on a reused
// connection: the agent may have delivered before it went away.
func TestReadRequestNotRetried(t *testing.T) {
	b := newBench(t)
	agent := b.agent("smtp", &fakeAgent{})
	cfg := testConfig(b.dir)
	cfg.MinBackoff, cfg.MaxBackoff = time.Hour, time.Hour
	b.start(cfg)
	id := b.submit(queue.Incoming, queue.Envelope{Sender: "a@mx.example.test"}, "x@remote.test")
	b.waitLog(id + ": removed")
	agent.set(func(a *fakeAgent) { a.crash = func(*proto.DeliverRequest) bool { return true } })
	id = b.submit(queue.Incoming, queue.Envelope{Sender: "a@mx.example.test"}, "y@remote.test")
	waitFor(t, 10*time.Second, "deferred", func() bool { return b.where(id) == queue.Deferred })
	if n := len(agent.requests()); n != 2 {
		t.Errorf("agent got %d requests, want 2 (the second not sent again)", n)
	}
	b.waitLog(id + ": to=<y@remote.test>, relay=none")
}

func TestStopWaitsForDeliveries(t *testing.T) {
	b := newBench(t)
	hang := make(chan struct{})
	agent := b.agent("smtp", &fakeAgent{hang: hang})
	b.start(testConfig(b.dir))
	id := b.submit(queue.Incoming, queue.Envelope{Sender: "a@mx.example.test"}, "x@remote.test")
	waitFor(t, 10*time.Second, "the delivery to start", func() bool {
		agent.mu.Lock()
		defer agent.mu.Unlock()
		return agent.inflight > 0
	})
	b.cancel()
	select {
	case <-b.done:
		t.Fatal("qmgr stopped with a delivery under way")
	case <-time.After(100 * time.Millisecond):
	}
	close(hang)
	select {
	case err := <-b.done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("qmgr did not stop")
	}
	b.cancel = nil
	f, err := queue.Open(b.layout.Path(queue.Active, id), false)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if !f.Envelope.Recipients[0].Done {
		t.Error("the delivery that ended during the stop was not marked done")
	}
	_ = context.Background
}

func TestFullActiveQueueDoesNotSpin(t *testing.T) {
	b := newBench(t)
	hang := make(chan struct{})
	defer close(hang)
	b.agent("smtp", &fakeAgent{hang: hang})
	for range 5 {
		id := b.write(queue.Deferred, queue.Envelope{Sender: "a@mx.example.test"}, "x@remote.test")
		b.layout.SetNextTry(b.layout.Path(queue.Deferred, id), time.Now().Add(-time.Minute))
	}
	cfg := testConfig(b.dir)
	cfg.ActiveLimit = 1
	cfg.QueueRunDelay = 10 * time.Millisecond
	b.start(cfg)
	waitFor(t, 5*time.Second, "one message in active", func() bool {
		n := 0
		b.layout.Walk(queue.Active, func(string, string) error { n++; return nil })
		return n == 1
	})
	before := b.q.rounds.Load()
	time.Sleep(300 * time.Millisecond)
	if r := b.q.rounds.Load() - before; r > 50 {
		t.Errorf("the event loop turned %d times in 300ms with a full active queue", r)
	}
}
