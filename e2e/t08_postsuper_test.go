package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/mtatest"
)

// t08: postsuper on queued mail, with the mail system running. Mail to a
// relayhost that is down waits in deferred/; the administrator holds one
// message, deletes one, requeues one, then releases the held one; when
// the relayhost comes back and the queue is flushed, exactly the messages
// not deleted arrive.
func TestT08Postsuper(t *testing.T) {
	t.Parallel()
	in := newInstance(t)
	port := in.RelayToClosedPort(t) // the relayhost, down for now
	in.Start()

	ids := map[string]string{}
	for _, s := range []string{"held", "deleted", "requeued"} {
		ids[s] = in.SubmitSMTP(t, "alice@client.example.test", []string{"bob@remote.test"},
			"From: alice@client.example.test\r\nSubject: "+s+"\r\n\r\nt08\r\n")
	}
	in.WaitQueue(t, "three deferred messages", map[string]string{ids["held"]: "deferred", ids["deleted"]: "deferred", ids["requeued"]: "deferred"})

	postsuper(t, in, "postsuper: "+ids["held"]+": placed on hold\npostsuper: Placed on hold: 1 message\n", "-h", ids["held"])
	postsuper(t, in, "postsuper: "+ids["deleted"]+": removed\npostsuper: Deleted: 1 message\n", "-d", ids["deleted"])
	postsuper(t, in, "postsuper: "+ids["requeued"]+": requeued\npostsuper: Requeued: 1 message\n", "-r", ids["requeued"])
	// The requeued message goes through cleanup again: a new queue ID,
	// tried again at once, deferred again.
	got := in.WaitQueue(t, "one held message and the requeued one deferred again", map[string]string{ids["held"]: "hold", "*": "deferred"})
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
	in.WaitQueue(t, "the released message deferred", map[string]string{ids["held"]: "deferred", "*": "deferred"})

	sink := mtatest.NewSinkWith(t, mtatest.SinkOptions{Addr: fmt.Sprintf("127.0.0.1:%d", port)})
	if res := in.Run("postqueue", "-f"); res.Exit != 0 {
		t.Fatalf("postqueue -f: exit %d: %s", res.Exit, res.Stderr)
	}
	mtatest.WaitFor(t, 20*time.Second, "the held and the requeued message at the relayhost", func() bool { return sink.Count() >= 2 })
	in.WaitQueue(t, "an empty queue", map[string]string{})
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
