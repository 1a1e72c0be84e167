package qmgr

import (
	"fmt"
	"testing"
	"time"

	"github.com/postern-mta/postern/queue"
)

// BenchmarkRelay measures qmgr's own cost per relayed message: messages
// written beforehand arrive in incoming one by one, each with a wake-up as
// cleanup sends, and a fake agent answers at once.
func BenchmarkRelay(b *testing.B) {
	bn := newBench(b)
	bn.agent("smtp", &fakeAgent{})
	var ids []string
	for i := range b.N {
		ids = append(ids, bn.submit(queue.Hold, queue.Envelope{Sender: "alice@client.test"}, fmt.Sprintf("bob%d@remote.test", i%50)))
	}
	bn.start(testConfig(bn.dir))
	b.ResetTimer()
	for _, id := range ids {
		if err := bn.layout.Move(id, queue.Hold, queue.Incoming); err != nil {
			b.Fatal(err)
		}
		bn.q.nudge()
	}
	deadline := time.Now().Add(time.Minute)
	for bn.logs.removals() < b.N {
		if time.Now().After(deadline) {
			b.Fatal("timed out")
		}
		time.Sleep(time.Millisecond)
	}
	b.StopTimer()
}
