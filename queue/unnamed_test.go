package queue

import (
	"os"
	"strings"
	"testing"
)

// Both ways of creating a file give the same result; the unnamed way
// leaves nothing behind when a writer is abandoned, the portable way
// removes its temporary file.
func TestBothCreationPaths(t *testing.T) {
	for _, named := range []bool{false, true} {
		namedOnly = named
		l := newLayout(t)
		id, _ := writeMessage(t, l, Incoming, &Envelope{Sender: "a@b.test", Recipients: []Recipient{{Addr: "c@d.test"}}}, "Subject: x\n\nbody\n")
		f, err := Open(l.Path(Incoming, id), false)
		if err != nil {
			t.Fatalf("named=%v: %v", named, err)
		}
		if f.Envelope.Sender != "a@b.test" || len(f.Envelope.Recipients) != 1 {
			t.Errorf("named=%v: envelope %+v", named, f.Envelope)
		}
		f.Close()
		w, err := l.NewWriter(Incoming)
		if err != nil {
			t.Fatal(err)
		}
		w.SetEnvelope(&Envelope{Sender: "x@y.test"})
		w.Write([]byte("half a message"))
		w.Abort()
		ents, _ := os.ReadDir(l.Dir(Incoming))
		for _, e := range ents {
			if strings.HasPrefix(e.Name(), tempPrefix) {
				t.Errorf("named=%v: %s left behind", named, e.Name())
			}
		}
		if len(ents) != 1 {
			t.Errorf("named=%v: %d entries in incoming, want the one message", named, len(ents))
		}
	}
	namedOnly = false
}
