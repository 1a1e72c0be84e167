package qmgr

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/proto"
	"github.com/postern-mta/postern/queue"
)

func TestFilterRoute(t *testing.T) {
	cases := []struct {
		filter, rcpt, defaultHop string
		transport, nexthop       string
	}{
		{"scan:[127.0.0.1]:10025", "bob@remote.test", "", "scan", "[127.0.0.1]:10025"},
		{"smtp:[127.0.0.1]:10025", "bob@remote.test", "ignored.test", "smtp", "[127.0.0.1]:10025"},
		{"scan:", "bob@Remote.Test", "", "scan", "remote.test"},
		{"scan", "bob@remote.test", "", "scan", "remote.test"},
		{"scan:", "bob@remote.test", "filter.test", "scan", "filter.test"},
		{"scan:", "bob", "", "scan", "mx.example.test"},
		{" scan : [h] ", "bob@remote.test", "", "scan", "[h]"},
		{"scan:", `"a@b"@remote.test`, "", "scan", "remote.test"},
	}
	for _, tc := range cases {
		f, err := parseFilter(tc.filter)
		if err != nil {
			t.Errorf("parseFilter(%q): %v", tc.filter, err)
			continue
		}
		tr, hop := f.route(tc.rcpt, tc.defaultHop, "mx.example.test")
		if tr != tc.transport || hop != tc.nexthop {
			t.Errorf("%q for <%s> (default %q) = %s, %s; want %s, %s", tc.filter, tc.rcpt, tc.defaultHop, tr, hop, tc.transport, tc.nexthop)
		}
	}
	for _, bad := range []string{":[h]", ":", "../x:[h]", "a/b:c", "..:", "x\x00y:z"} {
		if _, err := parseFilter(bad); err == nil {
			t.Errorf("parseFilter(%q) accepted", bad)
		}
	}
	attrs := []queue.Attr{{Name: "filter", Value: "a:x"}, {Name: "client_name", Value: "c"}, {Name: "filter", Value: "b:y"}}
	if f := messageFilter(attrs); f != "b:y" {
		t.Errorf("messageFilter = %q, want the last one", f)
	}
	if f := messageFilter(attrs[1:2]); f != "" {
		t.Errorf("messageFilter without one = %q", f)
	}
}

func filtered(filter string) queue.Envelope {
	return queue.Envelope{Sender: "alice@client.test", Attrs: []queue.Attr{{Name: "client_name", Value: "c.test"}, {Name: "filter", Value: filter}}}
}

// A filtered message goes, every recipient of it, to the filter: the
// resolver's choices (local, smtp, error) do not count.
func TestContentFilterTakesAllRecipients(t *testing.T) {
	b := newBench(t)
	scan := b.agent("scan", &fakeAgent{})
	smtp := b.agent("smtp", &fakeAgent{})
	local := b.agent("local", &fakeAgent{})
	errAgent := b.agent("error", &fakeAgent{})
	b.start(testConfig(b.dir))
	id := b.submit(queue.Incoming, filtered("scan:[127.0.0.1]:10025"),
		"dave@mx.example.test", "bob@remote.test", "x@error.test", "carol@other.test")
	b.waitLog(id + ": removed")
	reqs := scan.requests()
	if len(reqs) != 1 {
		t.Fatalf("the filter got %d requests, want 1: %+v", len(reqs), reqs)
	}
	r := reqs[0]
	var got []string
	for _, rc := range r.Recipients {
		got = append(got, rc.Addr)
	}
	if r.Transport != "scan" || r.Nexthop != "[127.0.0.1]:10025" || r.Sender != "alice@client.test" || proto.Lookup(r.Attrs, "client_name") != "c.test" ||
		!slices.Equal(got, []string{"dave@mx.example.test", "bob@remote.test", "x@error.test", "carol@other.test"}) {
		t.Errorf("filter request %+v (recipients %v)", r, got)
	}
	if n := len(smtp.requests()) + len(local.requests()) + len(errAgent.requests()); n != 0 {
		t.Errorf("%d requests bypassed the filter", n)
	}
	if len(b.bounce.reports()) != 0 {
		t.Errorf("reports %+v", b.bounce.reports())
	}
}

// Without a next hop the filter gets each recipient's domain (or
// default_filter_nexthop); defer_transports holds a filter transport too.
func TestContentFilterNexthops(t *testing.T) {
	b := newBench(t)
	scan := b.agent("scan", &fakeAgent{})
	slow := b.agent("slow", &fakeAgent{})
	cfg := testConfig(b.dir)
	cfg.MinBackoff, cfg.MaxBackoff = time.Hour, time.Hour
	b.start(cfg)
	id := b.submit(queue.Incoming, filtered("scan:"), "a@one.test", "b@two.test", "c@One.test", "local-only")
	b.waitLog(id + ": removed")
	hops := map[string]int{}
	for _, r := range scan.requests() {
		hops[r.Nexthop] += len(r.Recipients)
	}
	if len(hops) != 3 || hops["one.test"] != 2 || hops["two.test"] != 1 || hops["mx.example.test"] != 1 {
		t.Errorf("next hops %v, want one.test:2 two.test:1 mx.example.test:1", hops)
	}
	held := b.submit(queue.Incoming, filtered("slow:[127.0.0.1]:10025"), "a@one.test")
	waitFor(t, 10*time.Second, "deferred", func() bool { return b.where(held) == queue.Deferred })
	b.waitLog(held + ": to=<a@one.test>, relay=none")
	if !strings.Contains(b.logs.String(), "status=deferred (deferred transport)") || len(slow.requests()) != 0 {
		t.Errorf("defer_transports did not hold the filter transport:\n%s", b.logs)
	}
}

func TestDefaultFilterNexthop(t *testing.T) {
	b := newBench(t)
	scan := b.agent("scan", &fakeAgent{})
	cfg := testConfig(b.dir)
	cfg.DefaultFilterNexthop = "[127.0.0.1]:10024"
	b.start(cfg)
	id := b.submit(queue.Incoming, filtered("scan:"), "a@one.test", "b@two.test")
	b.waitLog(id + ": removed")
	if r := scan.requests(); len(r) != 1 || r[0].Nexthop != "[127.0.0.1]:10024" || len(r[0].Recipients) != 2 {
		t.Errorf("filter requests %+v", r)
	}
}

// A filter transport that is not in master.cf (no agent listens) defers
// the mail as Postfix does; so does a filter that names no service.
func TestContentFilterUnavailable(t *testing.T) {
	b := newBench(t)
	smtp := b.agent("smtp", &fakeAgent{})
	cfg := testConfig(b.dir)
	cfg.MinBackoff, cfg.MaxBackoff = time.Hour, time.Hour
	b.start(cfg)
	id := b.submit(queue.Incoming, filtered("nosuch:[127.0.0.1]:10025"), "bob@remote.test")
	waitFor(t, 10*time.Second, "deferred", func() bool { return b.where(id) == queue.Deferred })
	b.waitLog(id + ": to=<bob@remote.test>, relay=none")
	b.waitLog("warning: " + id + ": connect to transport private/nosuch: no such file or directory")
	if !strings.Contains(b.logs.String(), "dsn=4.3.0, status=deferred (mail transport unavailable)") {
		t.Errorf("log:\n%s", b.logs)
	}
	bad := b.submit(queue.Incoming, filtered("../smtp:[127.0.0.1]:10025"), "bob@remote.test")
	waitFor(t, 10*time.Second, "deferred", func() bool { return b.where(bad) == queue.Deferred })
	b.waitLog(bad + `: bad content filter "../smtp:[127.0.0.1]:10025"`)
	b.waitLog("dsn=4.3.5, status=deferred (mail system configuration error)")
	if len(smtp.requests()) != 0 {
		t.Error("unfiltered delivery of a message with a filter")
	}
	defers, _ := b.layout.ReadLog(queue.Defer, bad)
	if len(defers) != 1 || defers[0].Status != "4.3.5" {
		t.Errorf("defer log %+v", defers)
	}
}

// sendmail -bv shows where mail would go: the filter is not used.
func TestVerifyIsNotFiltered(t *testing.T) {
	b := newBench(t)
	scan := b.agent("scan", &fakeAgent{})
	smtp := b.agent("smtp", &fakeAgent{})
	b.start(testConfig(b.dir))
	env := filtered("scan:[127.0.0.1]:10025")
	env.Flags = queue.FlagVerify
	id := b.submit(queue.Incoming, env, "bob@remote.test")
	b.waitLog(id + ": removed")
	if len(scan.requests()) != 0 || len(smtp.requests()) != 1 || smtp.requests()[0].Flags&proto.DeliverVerify == 0 {
		t.Errorf("scan %+v, smtp %+v", scan.requests(), smtp.requests())
	}
}

// Recipients already done are not sent to the filter again.
func TestContentFilterSkipsDone(t *testing.T) {
	b := newBench(t)
	scan := b.agent("scan", &fakeAgent{})
	id := b.write(queue.Incoming, filtered("scan:[127.0.0.1]:10025"), "a@one.test", "b@two.test")
	f, err := queue.Open(b.layout.Path(queue.Incoming, id), true)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.MarkDone(0); err != nil {
		t.Fatal(err)
	}
	f.Close()
	b.start(testConfig(b.dir))
	b.waitLog(id + ": removed")
	if r := scan.requests(); len(r) != 1 || len(r[0].Recipients) != 1 || r[0].Recipients[0].Addr != "b@two.test" {
		t.Errorf("filter requests %+v", r)
	}
}

// FuzzFilter feeds filter values and recipients (both from queue files)
// to the parser and the router: no panic, and a filter that parses always
// routes to a service name and a next hop.
func FuzzFilter(f *testing.F) {
	f.Add("smtp:[127.0.0.1]:10025", "bob@remote.test")
	f.Add("scan:", `"a@b"@x.test`)
	f.Add("../x:y", "")
	f.Fuzz(func(t *testing.T, v, rcpt string) {
		cf, err := parseFilter(v)
		if err != nil {
			return
		}
		tr, hop := cf.route(rcpt, "", "mx.example.test")
		if tr == "" || strings.ContainsAny(tr, "/\x00") || tr == "." || tr == ".." || hop == "" {
			t.Fatalf("%q for <%s> routes to %q, %q", v, rcpt, tr, hop)
		}
	})
}
