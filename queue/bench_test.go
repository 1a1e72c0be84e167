package queue

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// message4K is a 4096-byte message with LF line ends.
var message4K = func() []byte {
	head := "Received: from client.example.test (localhost [127.0.0.1])\n\tby mx.example.test (Postern) with ESMTP id 4jXRDB400qz1SCHg;\n\tSun, 22 Nov 2026 11:07:19 +0000 (UTC)\nFrom: alice@mx.example.test\nTo: bob@remote.test\nSubject: benchmark\nMessage-Id: <bench@mx.example.test>\n\n"
	line := strings.Repeat("The quick brown fox jumps over the lazy dog. ", 1)[:45] + "\n"
	b := []byte(head)
	for len(b)+len(line) <= 4095 {
		b = append(b, line...)
	}
	for len(b) < 4095 {
		b = append(b, '.')
	}
	return append(b, '\n')
}()

var benchEnvelope = &Envelope{
	Sender: "alice@mx.example.test",
	Attrs: []Attr{
		{"client_name", "client.example.test"}, {"client_address", "127.0.0.1"},
		{"helo_name", "client.example.test"}, {"protocol_name", "ESMTP"},
		{"rewrite_context", "remote"},
	},
}

// rawDurableWrite is what the disk can do for one 4 KB message at best:
// create, write, fsync, rename, directory fsync.
func rawDurableWrite(dir string, i int, data []byte) error {
	name := filepath.Join(dir, fmt.Sprint(i))
	f, err := os.OpenFile(name+".tmp", os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(name+".tmp", name); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

func storeDurableWrite(l *Layout, data []byte) error {
	w, err := l.NewWriter(Incoming)
	if err != nil {
		return err
	}
	defer w.Abort()
	w.SetEnvelope(benchEnvelope)
	if _, err := w.Write(data); err != nil {
		return err
	}
	w.AddRecipient(Recipient{Addr: "bob@remote.test", Orig: "bob@remote.test"})
	return w.Commit()
}

// BenchmarkDurableWrite measures, interleaved in the same run, the raw
// durable write rate of the disk under the test's temp dir and the queue
// store's rate for a 4 KB message, and reports their ratio (target ≥ 0.9).
func BenchmarkDurableWrite(b *testing.B) {
	rawDir := b.TempDir()
	l := newLayout(b)
	var raw, store time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		// Alternate which goes first so that neither always follows the
		// other's fsync.
		for k := range 2 {
			start := time.Now()
			if (i+k)%2 == 0 {
				if err := rawDurableWrite(rawDir, i, message4K); err != nil {
					b.Fatal(err)
				}
				raw += time.Since(start)
			} else {
				if err := storeDurableWrite(l, message4K); err != nil {
					b.Fatal(err)
				}
				store += time.Since(start)
			}
		}
	}
	b.ReportMetric(float64(b.N)/raw.Seconds(), "raw_msgs/s")
	b.ReportMetric(float64(b.N)/store.Seconds(), "store_msgs/s")
	b.ReportMetric(raw.Seconds()/store.Seconds(), "ratio")
}

// BenchmarkReadEnvelope reads the envelopes of 1000 queued 4 KB messages
// in turn, as a listing does; s/100k is the time for 100,000 files.
func BenchmarkReadEnvelope(b *testing.B) {
	l := newLayout(b)
	_, path := writeMessage(b, l, Incoming, benchEnvelope, string(message4K), Recipient{Addr: "bob@remote.test"})
	data := readFile(b, path)
	var paths []string
	for i := range 1000 {
		p := filepath.Join(l.Dir(Active), NewID(arrival, uint64(i)))
		if err := os.WriteFile(p, data, 0o600); err != nil {
			b.Fatal(err)
		}
		paths = append(paths, p)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		env, size, err := ReadEnvelope(paths[i%len(paths)])
		if err != nil || size != int64(len(message4K)) || len(env.Recipients) != 1 {
			b.Fatal(env, size, err)
		}
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N)*100000, "s/100k")
}
