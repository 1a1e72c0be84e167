package mtatest

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/proto"
)

// RelayToClosedPort points relayhost at a loopback port nobody listens on
// and spaces retries far apart, so that relayed mail waits in deferred/
// until a flush. It returns the port, for a sink a test starts there
// later. Call it before Start.
func (in *Instance) RelayToClosedPort(t testing.TB) int {
	t.Helper()
	port := FreePort(t)
	in.Set("relayhost", fmt.Sprintf("[127.0.0.1]:%d", port))
	in.Set("queue_run_delay", "300s")
	in.Set("minimal_backoff_time", "300s")
	in.Set("maximal_backoff_time", "300s")
	return port
}

// Queue returns the queue as postqueue -j lists it, by queue ID.
func (in *Instance) Queue(t testing.TB) map[string]proto.QueueEntry {
	t.Helper()
	res := in.Run("postqueue", "-j")
	if res.Exit != 0 {
		t.Fatalf("postqueue -j: exit %d: %s", res.Exit, res.Stderr)
	}
	out := map[string]proto.QueueEntry{}
	for _, line := range strings.Split(strings.TrimSpace(res.Stdout), "\n") {
		if line == "" {
			continue
		}
		var e proto.QueueEntry
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("postqueue -j line %q: %v", line, err)
		}
		out[e.QueueID] = e
	}
	return out
}

// WaitQueue waits until postqueue -j lists exactly want (queue ID → queue
// name), every deferred message with a delay reason, and returns the
// listing. An ID "*" stands for one message whose ID is not named.
func (in *Instance) WaitQueue(t testing.TB, what string, want map[string]string) map[string]proto.QueueEntry {
	t.Helper()
	var got map[string]proto.QueueEntry
	WaitFor(t, 30*time.Second, what, func() bool {
		got = in.Queue(t)
		if len(got) != len(want) {
			return false
		}
		others := 0
		for id, e := range got {
			q, ok := want[id]
			if !ok {
				q, others = want["*"], others+1
			}
			if e.QueueName != q || q == "deferred" && (len(e.Recipients) == 0 || e.Recipients[0].DelayReason == "") {
				return false
			}
		}
		return others <= 1
	})
	return got
}
