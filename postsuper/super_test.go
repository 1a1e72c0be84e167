package postsuper

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/dsn"
	"github.com/postern-mta/postern/internal/proto"
	"github.com/postern-mta/postern/queue"
)

func TestDelete(t *testing.T) {
	f := newFixture(t)
	a := f.add(queue.Deferred, "a@remote.test")
	b := f.add(queue.Hold, "b@remote.test")
	f.addLog(queue.Defer, a)
	f.addLog(queue.Bounce, a)
	unknown := queue.NewID(arrival, 4242)
	f.expect(Request{Delete: []string{a, unknown, "bogus/id"}},
		"postsuper: "+a+": removed",
		"postsuper: warning: invalid mail queue id: bogus/id",
		"postsuper: Deleted: 1 message")
	f.mustBe(a, "")
	f.mustBe(b, queue.Hold)
	for _, lq := range []string{queue.Defer, queue.Bounce} {
		if exists(f.l.Path(lq, a)) {
			t.Errorf("%s log of a deleted message remains", lq)
		}
	}
	// Unknown IDs: a summary of zero, no error.
	f.expect(Request{Delete: []string{unknown}}, "postsuper: Deleted: 0 messages")
	// Queue arguments narrow the search.
	f.expect(Request{Delete: []string{b}, Queues: []string{queue.Deferred}}, "postsuper: Deleted: 0 messages")
	f.mustBe(b, queue.Hold)
}

func TestDeleteAll(t *testing.T) {
	f := newFixture(t)
	var ids []string
	for _, q := range []string{queue.Maildrop, queue.Incoming, queue.Active, queue.Deferred, queue.Deferred, queue.Hold} {
		ids = append(ids, f.add(q, "x@remote.test"))
	}
	f.addLog(queue.Defer, ids[3])
	// Only the deferred queue: no per-message lines for ALL.
	f.expect(Request{Delete: []string{"ALL"}, Queues: []string{queue.Deferred}}, "postsuper: Deleted: 2 messages")
	f.mustBe(ids[2], queue.Active)
	if exists(f.l.Path(queue.Defer, ids[3])) {
		t.Error("defer log of a deleted message remains")
	}
	f.expect(Request{Delete: []string{"ALL", ids[0]}},
		`postsuper: warning: option "-d ALL" will ignore other command line queue IDs`,
		"postsuper: Deleted: 4 messages")
	for _, id := range ids {
		f.mustBe(id, "")
	}
}

func TestDeleteFromStdin(t *testing.T) {
	f := newFixture(t)
	a := f.add(queue.Deferred, "a@remote.test")
	b := f.add(queue.Incoming, "b@remote.test")
	f.expect(Request{Delete: []string{"-"}, Stdin: strings.NewReader("\n  " + a + "  \n" + b + "\n\n")},
		"postsuper: "+a+": removed",
		"postsuper: "+b+": removed",
		"postsuper: Deleted: 2 messages")
}

func TestHoldAndRelease(t *testing.T) {
	f := newFixture(t)
	a := f.add(queue.Deferred, "a@remote.test")
	b := f.add(queue.Active, "b@remote.test")
	c := f.add(queue.Maildrop, "c@remote.test")
	f.addLog(queue.Defer, a)
	f.expect(Request{Hold: []string{a, b, c}},
		"postsuper: "+a+": placed on hold",
		"postsuper: "+b+": placed on hold",
		"postsuper: Placed on hold: 2 messages")
	f.mustBe(a, queue.Hold)
	f.mustBe(b, queue.Hold)
	f.mustBe(c, queue.Maildrop) // not sanitized yet: never held
	if !exists(f.l.Path(queue.Defer, a)) {
		t.Error("hold removed the defer log")
	}
	f.now = time.Now().Add(-time.Hour).Truncate(time.Second)
	f.expect(Request{Release: []string{a}},
		"postsuper: "+a+": released from hold",
		"postsuper: Released from hold: 1 message")
	f.mustBe(a, queue.Deferred)
	if fi, err := os.Stat(f.l.Path(queue.Deferred, a)); err != nil || !queue.NextTry(fi).Equal(f.now) {
		t.Errorf("released message next try %v, want %v", fi.ModTime(), f.now)
	}
	f.expect(Request{Release: []string{"ALL"}}, "postsuper: Released from hold: 1 message")
	f.mustBe(b, queue.Deferred)
	f.expect(Request{Hold: []string{"ALL"}}, "postsuper: Placed on hold: 2 messages")
	f.mustBe(a, queue.Hold)
	f.mustBe(c, queue.Maildrop)
}

func TestExpire(t *testing.T) {
	f := newFixture(t)
	d := f.add(queue.Deferred, "a@remote.test")
	h := f.add(queue.Hold, "b@remote.test")
	h2 := f.add(queue.Hold, "c@remote.test")
	f.now = time.Now().Add(-time.Minute).Truncate(time.Second)
	f.expect(Request{Expire: []string{d, h}},
		"postsuper: "+d+": expired",
		"postsuper: "+h+": expired",
		"postsuper: Force-expired: 2 messages")
	forced := func(q, id string) bool {
		env, _, err := queue.ReadEnvelope(f.l.Path(q, id))
		if err != nil {
			t.Fatal(err)
		}
		return env.Flags&queue.FlagForcedExpire != 0
	}
	if !forced(queue.Deferred, d) || !forced(queue.Hold, h) {
		t.Error("flag not set")
	}
	f.mustBe(h, queue.Hold) // -e leaves held mail on hold
	if fi, _ := os.Stat(f.l.Path(queue.Deferred, d)); !fi.ModTime().Equal(f.now) {
		t.Errorf("expired deferred message not due now: %v", fi.ModTime())
	}
	f.expect(Request{ExpireRelease: []string{h2}},
		"postsuper: "+h2+": expired",
		"postsuper: "+h2+": released from hold",
		"postsuper: Released from hold: 1 message",
		"postsuper: Force-expired: 1 message")
	f.mustBe(h2, queue.Deferred)
	if !forced(queue.Deferred, h2) {
		t.Error("-f: flag not set")
	}
}

func TestInvalidQueue(t *testing.T) {
	f := newFixture(t)
	if _, err := f.run(Request{Delete: []string{"ALL"}, Queues: []string{"../etc"}}); err == nil || err.Error() != "invalid directory name: ../etc" {
		t.Errorf("error %v", err)
	}
}

func TestRequeueThroughCleanup(t *testing.T) {
	f := newFixture(t)
	id := f.add(queue.Deferred, "done@remote.test", "pending@remote.test")
	qf, err := queue.Open(f.l.Path(queue.Deferred, id), true)
	if err != nil {
		t.Fatal(err)
	}
	qf.MarkDone(0)
	qf.Close()
	f.addLog(queue.Defer, id)
	n := 0
	fc := startCleanup(t, f.cfg.CleanupPath, func(*proto.CleanupOpen) *proto.CleanupResult {
		n++
		return &proto.CleanupResult{QueueID: fmt.Sprintf("NEW%d", n)}
	})
	f.expect(Request{Requeue: []string{id}},
		"postsuper: "+id+": requeued",
		"postsuper: Requeued: 1 message")
	f.mustBe(id, "")
	if exists(f.l.Path(queue.Defer, id)) {
		t.Error("defer log of the old copy remains")
	}
	subs := fc.Messages()
	if len(subs) != 1 {
		t.Fatalf("%d submissions", len(subs))
	}
	o := subs[0].Open
	if o.Sender != "alice@mx.example.test" || o.FullName != "Alice" || !o.Arrival.Equal(arrival) ||
		o.DSNRet != "HDRS" || o.DSNEnvID != "env1" || o.Flags != proto.CleanupBounceOnReject {
		t.Errorf("envelope %+v", o)
	}
	if len(o.Recipients) != 1 || o.Recipients[0] != (proto.Rcpt{Addr: "pending@remote.test", Orig: "orig-pending@remote.test", Notify: "FAILURE"}) {
		t.Errorf("recipients %+v", o.Recipients)
	}
	if fmt.Sprint(o.Attrs) != fmt.Sprint([]proto.Attr{{Name: "client_address", Value: "192.0.2.7"}, {Name: "rewrite_context", Value: "remote"}}) {
		t.Errorf("attributes %+v", o.Attrs)
	}
	if subs[0].Content != "Subject: test\n\nbody\n" {
		t.Errorf("content %q", subs[0].Content)
	}

	// ALL, over one connection.
	a := f.add(queue.Hold, "x@remote.test")
	b := f.add(queue.Incoming, "y@remote.test")
	c := f.add(queue.Maildrop, "z@remote.test")
	f.expect(Request{Requeue: []string{"ALL"}}, "postsuper: Requeued: 2 messages")
	f.mustBe(a, "")
	f.mustBe(b, "")
	f.mustBe(c, queue.Maildrop) // not requeued: it has not been through cleanup yet
}

func TestRequeueRefused(t *testing.T) {
	f := newFixture(t)
	id := f.add(queue.Deferred, "a@remote.test")
	startCleanup(t, f.cfg.CleanupPath, func(*proto.CleanupOpen) *proto.CleanupResult {
		return &proto.CleanupResult{Status: dsn.Temp("4.3.0", "table lookup failed")}
	})
	got, err := f.run(Request{Requeue: []string{id}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(got, "postsuper: warning: "+id+": cannot requeue: cleanup: ") || !strings.HasSuffix(got, "postsuper: Requeued: 0 messages\n") {
		t.Errorf("output %q", got)
	}
	f.mustBe(id, queue.Deferred) // given back
}

// With the mail system down, a requeued message waits in maildrop/ for
// pickup, in the form postdrop writes.
func TestRequeueIntoMaildrop(t *testing.T) {
	f := newFixture(t)
	id := f.add(queue.Active, "done@remote.test", "pending@remote.test")
	qf, _ := queue.Open(f.l.Path(queue.Active, id), true)
	qf.MarkDone(0)
	qf.Close()
	f.expect(Request{Requeue: []string{id}},
		"postsuper: "+id+": requeued",
		"postsuper: Requeued: 1 message")
	f.mustBe(id, "")
	var files []string
	f.l.Walk(queue.Maildrop, func(id, path string) error { files = append(files, path); return nil })
	if len(files) != 1 {
		t.Fatalf("%d files in maildrop", len(files))
	}
	mf, err := queue.Open(files[0], false)
	if err != nil {
		t.Fatal(err)
	}
	defer mf.Close()
	env := mf.Envelope
	if env.Sender != "alice@mx.example.test" || !env.Arrival.Equal(arrival) || len(env.Recipients) != 1 ||
		env.Recipients[0].Addr != "pending@remote.test" || env.Recipients[0].Orig != "orig-pending@remote.test" || env.Attr("content_filter") != "" {
		t.Errorf("maildrop envelope %+v", env)
	}
	if fi, _ := os.Stat(files[0]); fi.Mode().Perm() != 0o644 {
		t.Errorf("maildrop file mode %v", fi.Mode())
	}
}

func TestStructure(t *testing.T) {
	f := newFixture(t)
	// A deferred message in the queue's top directory (hashing was off).
	d := f.add(queue.Incoming, "a@remote.test")
	if err := os.Rename(f.l.Path(queue.Incoming, d), f.l.Dir(queue.Deferred)+"/"+d); err != nil {
		t.Fatal(err)
	}
	// An incoming message in a hashed subdirectory (hashing was on).
	i := f.add(queue.Incoming, "b@remote.test")
	os.MkdirAll(f.l.Dir(queue.Incoming)+"/7", 0o700)
	if err := os.Rename(f.l.Path(queue.Incoming, i), f.l.Dir(queue.Incoming)+"/7/"+i); err != nil {
		t.Fatal(err)
	}
	// A defer log at the wrong level.
	f.addLog(queue.Defer, d)
	os.Rename(f.l.Path(queue.Defer, d), f.l.Dir(queue.Defer)+"/"+d)
	// Garbage.
	bogus := f.l.Dir(queue.Hold) + "/not-an-id"
	os.WriteFile(bogus, []byte("x"), 0o600)
	oldTmp := f.l.Dir(queue.Incoming) + "/tmp.123.1"
	newTmp := f.l.Dir(queue.Incoming) + "/tmp.123.2"
	os.WriteFile(oldTmp, nil, 0o600)
	os.WriteFile(newTmp, nil, 0o600)
	old := time.Now().Add(-25 * time.Hour)
	os.Chtimes(oldTmp, old, old)
	os.Symlink("/etc/passwd", f.l.Dir(queue.Active)+"/link")

	f.expect(Request{Structure: true, Purge: true},
		"postsuper: warning: bogus file name: "+bogus+": moved to "+f.l.Dir(queue.Corrupt)+"/not-an-id")
	for _, p := range []string{f.l.Path(queue.Deferred, d), f.l.Path(queue.Incoming, i), f.l.Path(queue.Defer, d), f.l.Dir(queue.Corrupt) + "/not-an-id", newTmp} {
		if !exists(p) {
			t.Errorf("%s missing", p)
		}
	}
	for _, p := range []string{f.l.Dir(queue.Incoming) + "/7", oldTmp, bogus, f.l.Dir(queue.Active) + "/link"} {
		if exists(p) {
			t.Errorf("%s still there", p)
		}
	}
	// A second run finds nothing to do.
	f.expect(Request{Structure: true, Purge: true})
}

// -S renames a message whose ID does not match its inode (a queue
// restored from elsewhere), with its logs; then IDs given on the same
// command line are refused, since they may name other messages now.
func TestStrictInodeFix(t *testing.T) {
	f := newFixture(t)
	id := f.add(queue.Deferred, "a@remote.test")
	path := f.l.Path(queue.Deferred, id)
	// A copy: same name, another inode.
	data, _ := os.ReadFile(path)
	os.WriteFile(path+".copy", data, 0o600) // made while the original exists: another inode
	os.Rename(path+".copy", path)
	f.addLog(queue.Defer, id)
	out, err := f.run(Request{Strict: true, Delete: []string{id}})
	if err == nil {
		t.Fatal("IDs acted on after renaming")
	}
	if out != "postsuper: error: QUEUE FILE NAMES WERE CHANGED TO MATCH INODE NUMBERS\npostsuper: fatal: CHECK YOUR QUEUE IDS AND RE-ISSUE THE COMMAND\n" {
		t.Errorf("output %q", out)
	}
	f.mustBe(id, "")
	var ids []string
	f.l.Walk(queue.Deferred, func(id, _ string) error { ids = append(ids, id); return nil })
	if len(ids) != 1 || ids[0][:11] != id[:11] || ids[0] == id {
		t.Fatalf("renamed to %v (was %s)", ids, id)
	}
	if !exists(f.l.Path(queue.Defer, ids[0])) {
		t.Error("defer log not renamed along")
	}
	f.expect(Request{Strict: true})
	// Alone, the summary and the warning.
	os.Rename(f.l.Path(queue.Deferred, ids[0]), f.l.Path(queue.Deferred, id))
	f.expect(Request{Strict: true},
		"postsuper: Renamed to match inode number: 1 message",
		"postsuper: warning: QUEUE FILE NAMES WERE CHANGED TO MATCH INODE NUMBERS")
}
