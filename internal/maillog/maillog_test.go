package maillog

import (
	"bytes"
	"sync"
	"testing"
	"time"
)

func TestDeliveryLine(t *testing.T) {
	var b bytes.Buffer
	l := New(&b, "postern", "smtp", 8388)
	l.Delivery(Delivery{
		QueueID: "4jXRDB400qz1SCHg", To: "ok@remote.test", Relay: "127.0.0.1[127.0.0.1]:2599",
		Delay:  70 * time.Millisecond,
		Delays: [4]time.Duration{30 * time.Millisecond, 0, 0, 40 * time.Millisecond},
		DSN:    "2.0.0", Status: "sent", Text: "250 2.0.0 Ok: queued as FAKE123",
	})
	want := "postern/smtp[8388]: 4jXRDB400qz1SCHg: to=<ok@remote.test>, relay=127.0.0.1[127.0.0.1]:2599, delay=0.07, delays=0.03/0/0/0.04, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as FAKE123)\n"
	if b.String() != want {
		t.Errorf("got  %q\nwant %q", b.String(), want)
	}
}

func TestOrigToOnlyWhenDifferent(t *testing.T) {
	d := Delivery{QueueID: "Q", To: "a@b", OrigTo: "a@b", Relay: "local", DSN: "2.0.0", Status: "sent", Text: "x"}
	if got := FormatDelivery(d); bytes.Contains([]byte(got), []byte("orig_to")) {
		t.Errorf("orig_to logged although equal: %s", got)
	}
	d.OrigTo = "alias@b"
	if got := FormatDelivery(d); !bytes.Contains([]byte(got), []byte("to=<a@b>, orig_to=<alias@b>, relay=local")) {
		t.Errorf("orig_to missing: %s", got)
	}
}

func TestRejectLine(t *testing.T) {
	got := FormatReject(Reject{Stage: "RCPT", Client: "localhost[127.0.0.1]",
		Reply: "550 5.1.1 <nosuchuser@mx.example.test>: Recipient address rejected: User unknown in local recipient table",
		From:  "alice@mx.example.test", To: "nosuchuser@mx.example.test", Proto: "ESMTP", Helo: "client.example.test"})
	want := "NOQUEUE: reject: RCPT from localhost[127.0.0.1]: 550 5.1.1 <nosuchuser@mx.example.test>: Recipient address rejected: User unknown in local recipient table; from=<alice@mx.example.test> to=<nosuchuser@mx.example.test> proto=ESMTP helo=<client.example.test>"
	if got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

func TestFormatDelay(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "0", 5 * time.Millisecond: "0", 30 * time.Millisecond: "0.03", 1500 * time.Millisecond: "1.5",
		12 * time.Second: "12", 3603 * time.Second: "3603",
	} {
		if got := FormatDelay(d); got != want {
			t.Errorf("FormatDelay(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestControlCharactersStayOnOneLine(t *testing.T) {
	var b bytes.Buffer
	New(&b, "postern", "smtpd", 1).Info("lost connection after %s", "DATA\r\nEVIL")
	if bytes.Count(b.Bytes(), []byte("\n")) != 1 {
		t.Errorf("line split by outside text: %q", b.String())
	}
}

func TestStamp(t *testing.T) {
	ts := time.Date(2026, 11, 4, 1, 5, 50, 0, time.UTC)
	got := string(Stamp(nil, ts, "mx", []byte("postern/master[1]: x")))
	if got != "Nov  4 01:05:50 mx postern/master[1]: x" {
		t.Errorf("Stamp = %q", got)
	}
}

// A batching Logger writes what it gathered in one go, writes warnings at
// once, and loses nothing on Flush.
func TestBatch(t *testing.T) {
	var w countingWriter
	l := New(&w, "postern", "qmgr", 1)
	l.Batch(time.Hour) // only Flush or a warning writes
	l.Info("one")
	l.Info("two")
	if w.writes != 0 {
		t.Fatalf("%d writes before the delay", w.writes)
	}
	l.Warning("three")
	if w.writes != 1 || w.String() != "postern/qmgr[1]: one\npostern/qmgr[1]: two\npostern/qmgr[1]: warning: three\n" {
		t.Fatalf("after a warning: %d writes, %q", w.writes, w.String())
	}
	l.Info("four")
	l.Flush()
	if w.writes != 2 || !bytes.HasSuffix(w.Bytes(), []byte("four\n")) {
		t.Fatalf("after Flush: %d writes, %q", w.writes, w.String())
	}
	fast := New(&w, "postern", "qmgr", 1)
	fast.Batch(time.Millisecond)
	fast.Info("five")
	deadline := time.Now().Add(5 * time.Second)
	for !bytes.HasSuffix(w.snapshot(), []byte("five\n")) {
		if time.Now().After(deadline) {
			t.Fatal("a gathered line was never written")
		}
		time.Sleep(time.Millisecond)
	}
}

type countingWriter struct {
	mu sync.Mutex
	bytes.Buffer
	writes int
}

func (c *countingWriter) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.writes++
	return c.Buffer.Write(p)
}

func (c *countingWriter) snapshot() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]byte(nil), c.Bytes()...)
}
