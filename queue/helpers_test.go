package queue

import (
	"bytes"
	"io"
	"os"
	"testing"
	"time"
)

// newLayout returns a fresh queue tree with Postfix's default hashing.
func newLayout(t testing.TB) *Layout {
	t.Helper()
	l := NewLayout(t.TempDir(), []string{Deferred, Defer}, 1)
	if err := l.MakeDirs(-1, -1); err != nil {
		t.Fatal(err)
	}
	return l
}

var arrival = time.Date(2026, 11, 22, 11, 7, 19, 562475000, time.UTC)

func sampleEnvelope() *Envelope {
	return &Envelope{
		Arrival:  arrival,
		Sender:   "alice@mx.example.test",
		FullName: "Alice Example",
		Attrs: []Attr{
			{"client_name", "client.example.test"},
			{"client_address", "192.0.2.7"},
			{"protocol_name", "ESMTP"},
			{"empty", ""},
			{"log_ident", "a=b=c"},
		},
		DSNRet:   "HDRS",
		DSNEnvID: "env-42",
		WarnTime: arrival.Add(4 * time.Hour).Truncate(time.Second),
		Flags:    FlagTrace,
		Recipients: []Recipient{
			{Addr: "bob@mx.example.test", Orig: "Bob@mx.example.test", Notify: "SUCCESS,DELAY", ORCPT: "rfc822;Bob@mx.example.test"},
			{Addr: "carol@remote.test"},
		},
	}
}

const sampleContent = "Received: from client.example.test\n\tby mx.example.test\nSubject: hello\nFrom: alice@mx.example.test\n\n.\n..leading dots\n8-bit: \xe9t\xe9\nlast line without newline"

// writeMessage commits a message with env, content and the late
// recipients, and returns its ID and path.
func writeMessage(t testing.TB, l *Layout, queue string, env *Envelope, content string, late ...Recipient) (string, string) {
	t.Helper()
	w, err := l.NewWriter(queue)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	w.SetEnvelope(env)
	if _, err := io.Copy(w, bytes.NewReader([]byte(content))); err != nil {
		t.Fatal(err)
	}
	for _, r := range late {
		w.AddRecipient(r)
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	return w.ID(), l.Path(queue, w.ID())
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
