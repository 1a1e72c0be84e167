package smtp

import (
	"strings"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/mtatest"
	"github.com/postern-mta/postern/internal/proto"
)

func TestConnectionReuse(t *testing.T) {
	sink := mtatest.NewSinkWith(t, mtatest.SinkOptions{})
	cfg := testConfig(t)
	cfg.Cache.IdleLimit = 300 * time.Millisecond
	ta := startAgent(t, cfg)
	hop := "[127.0.0.1]:" + port(sink.Addr)
	for i := range 3 {
		reply, _ := ta.send(t, hop, simpleMessage, "bob@remote.test")
		if r := reply.Results[0]; r.Action != proto.ActionRelayed {
			t.Fatalf("delivery %d: %+v", i, r)
		}
	}
	if sink.Count() != 3 || sink.Conns() != 1 {
		t.Errorf("%d messages over %d connections, want 3 over 1", sink.Count(), sink.Conns())
	}
	// Idle past the limit: the agent says QUIT and the server closes.
	mtatest.WaitFor(t, 5*time.Second, "the idle session to end", func() bool { return sink.ClosedConns() == 1 })
	if n := ta.a.cache.size(); n != 0 {
		t.Errorf("%d sessions still cached", n)
	}
	reply, _ := ta.send(t, hop, simpleMessage, "bob@remote.test")
	if r := reply.Results[0]; r.Action != proto.ActionRelayed || sink.Conns() != 2 {
		t.Errorf("after expiry: %+v, %d connections", r, sink.Conns())
	}
}

func TestReuseCountLimit(t *testing.T) {
	sink := mtatest.NewSinkWith(t, mtatest.SinkOptions{})
	cfg := testConfig(t)
	cfg.Cache.ReuseCount = 2
	ta := startAgent(t, cfg)
	for range 4 {
		ta.send(t, "[127.0.0.1]:"+port(sink.Addr), simpleMessage, "bob@remote.test")
	}
	if sink.Count() != 4 || sink.Conns() != 2 {
		t.Errorf("%d messages over %d connections, want 4 over 2", sink.Count(), sink.Conns())
	}
}

func TestNoCaching(t *testing.T) {
	sink := mtatest.NewSinkWith(t, mtatest.SinkOptions{})
	cfg := testConfig(t)
	cfg.Cache.OnDemand = false
	ta := startAgent(t, cfg)
	for range 2 {
		ta.send(t, "[127.0.0.1]:"+port(sink.Addr), simpleMessage, "bob@remote.test")
	}
	if sink.Conns() != 2 {
		t.Errorf("%d connections, want 2", sink.Conns())
	}
	mtatest.WaitFor(t, 5*time.Second, "sessions to end", func() bool { return sink.ClosedConns() == 2 })
}

func TestStaleCachedSession(t *testing.T) {
	// The server drops sessions idle for 100ms; the agent keeps them for
	// 5s. The next delivery finds its cached session dead and quietly
	// opens a new one.
	sink := mtatest.NewSinkWith(t, mtatest.SinkOptions{ReadTimeout: 100 * time.Millisecond})
	ta := startAgent(t, testConfig(t))
	hop := "[127.0.0.1]:" + port(sink.Addr)
	ta.send(t, hop, simpleMessage, "bob@remote.test")
	mtatest.WaitFor(t, 5*time.Second, "the server to drop the idle session", func() bool { return sink.ClosedConns() == 1 })
	if ta.a.cache.size() != 1 {
		t.Fatalf("session not cached")
	}
	reply, qid := ta.send(t, hop, simpleMessage, "bob@remote.test")
	if r := reply.Results[0]; r.Action != proto.ActionRelayed {
		t.Fatalf("result = %+v", r)
	}
	if sink.Count() != 2 || sink.Conns() != 2 {
		t.Errorf("%d messages over %d connections", sink.Count(), sink.Conns())
	}
	if line := ta.log.String(); containsQIDNote(line, qid) {
		t.Errorf("a stale session was logged as a failure:\n%s", line)
	}
}

// containsQIDNote reports a "QID: reason" line other than a delivery line.
func containsQIDNote(log, qid string) bool {
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, qid+": ") && !strings.Contains(l, qid+": to=<") {
			return true
		}
	}
	return false
}
