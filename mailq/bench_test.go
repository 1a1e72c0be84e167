package mailq

import (
	"context"
	"fmt"
	"io"
	"os"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/proto"
	"github.com/postern-mta/postern/queue"
)

// fillDeferred puts n deferred messages with three recipients and a defer
// log each into l: one written by the queue writer, the rest copies.
func fillDeferred(b testing.TB, l *queue.Layout, n int) {
	reason := "connect to mx.remote.test[192.0.2.25]:25: Connection refused"
	id := write(b, l, msg{queue: queue.Deferred, sender: "alice@mx.example.test",
		rcpts:   []string{"one@remote.test", "two@remote.test", "three@remote.test"},
		reasons: map[string]string{"one@remote.test": reason, "two@remote.test": reason, "three@remote.test": reason}})
	data, err := os.ReadFile(l.Path(queue.Deferred, id))
	if err != nil {
		b.Fatal(err)
	}
	logData, err := os.ReadFile(l.Path(queue.Defer, id))
	if err != nil {
		b.Fatal(err)
	}
	t0 := time.Unix(1795345639, 0)
	for i := 1; i < n; i++ {
		id := queue.NewID(t0.Add(time.Duration(i)*time.Microsecond), uint64(i))
		if err := os.WriteFile(l.Path(queue.Deferred, id), data, 0o600); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(l.Path(queue.Defer, id), logData, 0o600); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkListing is the cost of listing one deferred message with its
// defer log, read and printed in the text format.
func BenchmarkListing(b *testing.B) {
	l := newLayout(b)
	const n = 2000
	fillDeferred(b, l, n)
	for _, w := range []int{1, 0} {
		b.Run(fmt.Sprintf("workers=%d", w), func(b *testing.B) {
			for done := 0; done < b.N; done += n {
				p := NewText(io.Discard)
				err := Scan(context.Background(), l, Options{Workers: w}, func(e *proto.QueueEntry) error { return p.Entry(e) })
				if err != nil {
					b.Fatal(err)
				}
				p.Close()
			}
		})
	}
}
