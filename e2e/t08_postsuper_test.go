package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/mtatest"
	"github.com/postern-mta/postern/internal/proto"
)

// t08: postsuper on queued mail, with the mail system running. Mail to a
// relayhost that is down waits in deferred/; the administrator holds one
// message, deletes one, requeues one, then releases the held one; when
// the relayhost comes back and the queue is flushed, exactly the messages
// not deleted arrive.
func TestT08Postsuper(t *testing.T) {
	t.Parallel()
	in := newInstance(t)
	port := mtatest.FreePort(t) // the relayhost, down for now
	in.Set("relayhost", fmt.Sprintf("[127.0.0.1]:%d", port))
	// Deferred mail stays put until the flush.
	in.Set("queue_run_delay", "300s")
	in.Set("minimal_backoff_time", "300s")
	in.Set("maximal_backoff_time", "300s")
	in.Start()

	ids := map[string]string{}
	for _, s := range []string{"held", "deleted", "requeued"} {
		ids[s] = in.SubmitSMTP(t, "alice@client.example.test", []string{"bob@remote.test"},
			"From: alice@client.example.test\r\nSubject: "+s+"\r\n\r\nt08\r\n")
	}
	queueIs(t, in, "three deferred messages", map[string]string{ids["held"]: "deferred", ids["deleted"]: "deferred", ids["requeued"]: "deferred"})

	postsuper(t, in, "postsuper: "+ids["held"]+": placed on hold\npostsuper: Placed on hold: 1 message\n", "-h", ids["held"])
	postsuper(t, in, "postsuper: "+ids["deleted"]+": removed\npostsuper: Deleted: 1 message\n", "-d", ids["deleted"])
	postsuper(t, in, "postsuper: "+ids["requeued"]+": requeued\npostsuper: Requeued: 1 message\n", "-r", ids["requeued"])
	// The requeued message goes through cleanup again: a new queue ID,
	// tried again at once, deferred again.
	got := queueIs(t, in, "one held message and the requeued one deferred again", map[string]string{ids["held"]: "hold", "*": "deferred"})
	for id := range got {
		if id == ids["requeued"] {
			t.Errorf("the requeued message kept its queue ID %s", id)
		}
	}
	if res := in.Run("mailq"); !strings.Contains(res.Stdout, "\n"+ids["held"]+"!") {
		t.Errorf("mailq does not mark the held message with '!':\n%s", res.Stdout)
	}
	postsuper(t, in, "postsuper: Deleted: 0 messages\n", "-d", ids["deleted"])

	postsuper(t, in, "postsuper: "+ids["held"]+": released from hold\npostsuper: Released from hold: 1 message\n", "-H", ids["held"])
	queueIs(t, in, "the released message deferred", map[string]string{ids["held"]: "deferred", "*": "deferred"})

	sink := mtatest.NewSinkWith(t, mtatest.SinkOptions{Addr: fmt.Sprintf("127.0.0.1:%d", port)})
	if res := in.Run("postqueue", "-f"); res.Exit != 0 {
		t.Fatalf("postqueue -f: exit %d: %s", res.Exit, res.Stderr)
	}
	mtatest.WaitFor(t, 20*time.Second, "the held and the requeued message at the relayhost", func() bool { return sink.Count() >= 2 })
	queueIs(t, in, "an empty queue", map[string]string{})
	subjects := map[string]bool{}
	for _, m := range sink.Messages() {
		for _, s := range []string{"held", "deleted", "requeued"} {
			if strings.Contains(string(m.Data), "\r\nSubject: "+s+"\r\n") {
				subjects[s] = true
			}
		}
	}
	if n := sink.Count(); n != 2 || !subjects["held"] || !subjects["requeued"] {
		t.Errorf("the relayhost got %d messages with the subjects %v, want held and requeued", n, subjects)
	}
}

// postsuper runs postsuper and checks what it says on standard error.
func postsuper(t *testing.T, in *mtatest.Instance, want string, args ...string) {
	t.Helper()
	res := in.Run("postsuper", args...)
	if res.Exit != 0 || res.Stderr != want || res.Stdout != "" {
		t.Errorf("postsuper %s: exit %d, stdout %q, stderr:\n%s\nwant:\n%s", strings.Join(args, " "), res.Exit, res.Stdout, res.Stderr, want)
	}
}

// queueIs waits until postqueue -j lists exactly want (queue ID → queue
// name), every deferred message with a delay reason, and returns the
// listing. "*" stands for one message with an ID not named.
func queueIs(t *testing.T, in *mtatest.Instance, what string, want map[string]string) map[string]proto.QueueEntry {
	t.Helper()
	var got map[string]proto.QueueEntry
	mtatest.WaitFor(t, 20*time.Second, what, func() bool {
		res := in.Run("postqueue", "-j")
		if res.Exit != 0 {
			t.Fatalf("postqueue -j: exit %d: %s", res.Exit, res.Stderr)
		}
		got = map[string]proto.QueueEntry{}
		for _, line := range strings.Split(strings.TrimSpace(res.Stdout), "\n") {
			if line == "" {
				continue
			}
			var e proto.QueueEntry
			if err := json.Unmarshal([]byte(line), &e); err != nil {
				t.Fatalf("postqueue -j line %q: %v", line, err)
			}
			got[e.QueueID] = e
		}
		if len(got) != len(want) {
			return false
		}
		others := 0
		for id, e := range got {
			q, ok := want[id]
			if !ok {
				q = want["*"]
				others++
			}
			if e.QueueName != q || q == "deferred" && (len(e.Recipients) == 0 || e.Recipients[0].DelayReason == "") {
				return false
			}
		}
		return others <= 1
	})
	return got
}
