package mailq

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/proto"
	"github.com/postern-mta/postern/queue"
)

// sampleQueue fills a queue with one message per queue, covering every
// decoration of the listing.
func sampleQueue(t *testing.T) *queue.Layout {
	l := newLayout(t)
	write(t, l, msg{queue: queue.Maildrop, sender: "root@mx.example.test", rcpts: []string{"bob@mx.example.test"}})
	write(t, l, msg{queue: queue.Incoming, sender: "alice@mx.example.test",
		rcpts: []string{"done@remote.test", "pending@remote.test"}, done: []int{0}})
	write(t, l, msg{queue: queue.Active, sender: "", rcpts: []string{"alice@mx.example.test"},
		content: strings.Repeat("x", 3000)})
	reasonA := "connect to 127.0.0.1[127.0.0.1]:2599: Connection refused"
	reasonB := "host 127.0.0.1[127.0.0.1] said: 450 4.2.0 <tmp2@remote.test>: Recipient address rejected: Greylisted (in reply to RCPT TO command)"
	write(t, l, msg{queue: queue.Deferred, sender: "alice@mx.example.test",
		rcpts:   []string{"a@remote.test", "b@remote.test", "tmp2@remote.test", "c@remote.test", "d@remote.test", "e@remote.test"},
		done:    []int{4},
		content: strings.Repeat("y", 1500),
		reasons: map[string]string{"a@remote.test": reasonA, "b@remote.test": reasonA, "tmp2@remote.test": reasonB, "e@remote.test": reasonA}})
	write(t, l, msg{queue: queue.Hold, sender: "carol@mx.example.test", rcpts: []string{"dave@remote.test"},
		flags: queue.FlagForcedExpire})
	return l
}

// list scans l and renames the IDs ID1, ID2… in listing order, so that
// output can be compared with a golden file.
func list(t *testing.T, l *queue.Layout, opt Options) []*proto.QueueEntry {
	t.Helper()
	var out []*proto.QueueEntry
	err := Scan(context.Background(), l, opt, func(e *proto.QueueEntry) error {
		if !queue.ValidID(e.QueueID) {
			t.Errorf("entry with invalid ID %q", e.QueueID)
		}
		e.QueueID = fmt.Sprintf("ID%d", len(out)+1)
		out = append(out, e)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func print(t *testing.T, p Printer, entries []*proto.QueueEntry) {
	t.Helper()
	for _, e := range entries {
		if err := p.Entry(e); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestTextGolden(t *testing.T) {
	entries := list(t, sampleQueue(t), Options{})
	var b bytes.Buffer
	p := NewText(&b)
	p.Location = time.UTC
	print(t, p, entries)
	golden(t, "listing.txt", b.String())
}

func TestJSONGolden(t *testing.T) {
	entries := list(t, sampleQueue(t), Options{})
	var b bytes.Buffer
	print(t, NewJSON(&b), entries)
	golden(t, "listing.json", b.String())
	// Every line is a JSON object with Postfix's member names.
	for _, line := range strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("not JSON: %q: %v", line, err)
		}
		for _, k := range []string{"queue_name", "queue_id", "arrival_time", "message_size", "forced_expire", "sender", "recipients"} {
			if _, ok := m[k]; !ok {
				t.Errorf("member %q missing in %s", k, line)
			}
		}
		var e proto.QueueEntry
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatal(err)
		}
		if e.ArrivalTime != arrival.Unix() {
			t.Errorf("arrival_time %d, want %d", e.ArrivalTime, arrival.Unix())
		}
	}
}

func TestEmptyQueue(t *testing.T) {
	l := newLayout(t)
	var b bytes.Buffer
	print(t, NewText(&b), list(t, l, Options{}))
	if b.String() != "Mail queue is empty\n" {
		t.Errorf("got %q", b.String())
	}
	b.Reset()
	print(t, NewJSON(&b), list(t, l, Options{}))
	if b.String() != "" {
		t.Errorf("JSON of an empty queue: %q", b.String())
	}
}

// The exact columns of Postfix's long-ID format, with a full-length ID.
func TestTextColumns(t *testing.T) {
	e := &proto.QueueEntry{QueueName: queue.Deferred, QueueID: "4jXRDB400qz1SCHg", ArrivalTime: arrival.Unix(),
		MessageSize: 276, Sender: "alice@mx.example.test",
		Recipients: []proto.QueueRcptRef{{Address: "tmp2@remote.test", DelayReason: "short reason"}}}
	var b bytes.Buffer
	p := NewText(&b)
	p.Location = time.UTC
	print(t, p, []*proto.QueueEntry{e})
	want := "----Queue ID----- --Size-- ---Arrival Time---- --Sender/Recipient------\n" +
		"4jXRDB400qz1SCHg       276 Sun Nov 22 11:07:19 alice@mx.example.test\n" +
		strings.Repeat(" ", 76-len("short reason")) + "(short reason)\n" +
		strings.Repeat(" ", 47) + "tmp2@remote.test\n" +
		"\n-- 0 Kbytes in 1 Request.\n"
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestSummaryCounts(t *testing.T) {
	var b bytes.Buffer
	p := NewText(&b)
	for i := 0; i < 3; i++ {
		p.Entry(&proto.QueueEntry{QueueName: queue.Deferred, QueueID: "X", MessageSize: 1000, Sender: "s"})
	}
	p.Close()
	if !strings.HasSuffix(b.String(), "\n\n-- 2 Kbytes in 3 Requests.\n") {
		t.Errorf("summary: %q", b.String())
	}
}

func TestJSONEscaping(t *testing.T) {
	e := &proto.QueueEntry{QueueName: "deferred", QueueID: "X", Sender: "a\"b\\c@d",
		Recipients: []proto.QueueRcptRef{{Address: "<x>@y", DelayReason: "tab\there\x01 \xff é"}}}
	got := string(AppendJSON(nil, e))
	want := `{"queue_name": "deferred", "queue_id": "X", "arrival_time": 0, "message_size": 0, "forced_expire": false, "sender": "a\"b\\c@d", "recipients": [{"address": "<x>@y", "delay_reason": "tab\there\u0001 ? é"}]}` + "\n"
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestPrintable(t *testing.T) {
	for in, want := range map[string]string{
		"plain@example.test": "plain@example.test",
		"a\nb\x7f":           "a?b?",
		"é@ü.test":           "é@ü.test",
		"bad\xffbyte":        "bad?byte",
		"c1\u0085ctl":        "c1?ctl",
	} {
		if got := Printable(in); got != want {
			t.Errorf("Printable(%q) = %q, want %q", in, got, want)
		}
	}
}

// A corrupt file is skipped with a warning; a vanished one silently.
func TestScanSkipsUnreadable(t *testing.T) {
	l := newLayout(t)
	write(t, l, msg{queue: queue.Incoming, sender: "a@b.test", rcpts: []string{"c@d.test"}})
	bad := queue.NewID(arrival, 12345)
	if err := os.WriteFile(l.Path(queue.Incoming, bad), []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	var warnings []string
	entries := list(t, l, Options{Warn: func(m string) { warnings = append(warnings, m) }})
	if len(entries) != 1 {
		t.Errorf("%d entries, want 1", len(entries))
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], bad) {
		t.Errorf("warnings %q, want one naming %s", warnings, bad)
	}
	// A file removed between the directory listing and its reading.
	_, err := ReadEntry(l, queue.Incoming, "x", l.Path(queue.Incoming, queue.NewID(arrival, 999)), Options{})
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("vanished file: %v", err)
	}
}

func TestScanQueues(t *testing.T) {
	l := sampleQueue(t)
	entries := list(t, l, Options{Queues: []string{queue.Hold, queue.Active}})
	if len(entries) != 2 || entries[0].QueueName != queue.Hold || entries[1].QueueName != queue.Active {
		t.Errorf("got %d entries: %+v", len(entries), entries)
	}
	err := Scan(context.Background(), l, Options{Queues: []string{"bounce"}}, func(*proto.QueueEntry) error { return nil })
	if err == nil {
		t.Error("listing a log queue: no error")
	}
	// A missing queue directory is an empty queue.
	os.RemoveAll(l.Dir(queue.Maildrop))
	if got := list(t, l, Options{Queues: []string{queue.Maildrop}}); len(got) != 0 {
		t.Errorf("missing maildrop: %d entries", len(got))
	}
}

// Reasons are found by offset, so two records for one address do not
// mix up recipients; the last record of a recipient wins.
func TestReasonIndex(t *testing.T) {
	for _, n := range []int{2, 20} { // linear and map lookups
		var recs []reasonRecord
		var rcpts []queue.Recipient
		for i := 0; i < n; i++ {
			a := fmt.Sprintf("r%d@x.test", i)
			rcpts = append(rcpts, queue.Recipient{Addr: a, Offset: int64(100 + i)})
			recs = append(recs, reasonRecord{recipient: a, offset: int64(100 + i), reason: "old"})
			recs = append(recs, reasonRecord{recipient: a, offset: int64(100 + i), reason: fmt.Sprintf("why%d", i)})
		}
		recs = append(recs, reasonRecord{recipient: "nooffset@x.test", reason: "by address"})
		x := newReasonIndex(recs)
		for i, r := range rcpts {
			if got := x.find(&r); got != fmt.Sprintf("why%d", i) {
				t.Errorf("n=%d: reason of %s = %q", n, r.Addr, got)
			}
		}
		if got := x.find(&queue.Recipient{Addr: "nooffset@x.test", Offset: 7}); got != "by address" {
			t.Errorf("n=%d: by address: %q", n, got)
		}
		if got := x.find(&queue.Recipient{Addr: "other@x.test", Offset: 8}); got != "" {
			t.Errorf("n=%d: unknown recipient: %q", n, got)
		}
	}
}

// Reading files one at a time or in parallel lists the same entries in
// the same order, and an error from fn stops the listing in both.
func TestScanModes(t *testing.T) {
	l := newLayout(t)
	for i := 0; i < 200; i++ {
		write(t, l, msg{queue: []string{queue.Incoming, queue.Deferred, queue.Hold}[i%3], sender: fmt.Sprintf("s%d@x.test", i), rcpts: []string{"r@y.test"}})
	}
	var orders [][]string
	for _, w := range []int{1, 3, 0} {
		var ids []string
		err := Scan(context.Background(), l, Options{Workers: w}, func(e *proto.QueueEntry) error {
			ids = append(ids, e.QueueName+"/"+e.QueueID)
			return nil
		})
		if err != nil || len(ids) != 200 {
			t.Fatalf("workers=%d: %v, %d entries", w, err, len(ids))
		}
		orders = append(orders, ids)
		stop := errors.New("enough")
		n := 0
		err = Scan(context.Background(), l, Options{Workers: w}, func(*proto.QueueEntry) error {
			if n++; n == 50 {
				return stop
			}
			return nil
		})
		if err != stop || n != 50 {
			t.Errorf("workers=%d: stopping: %v after %d entries", w, err, n)
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := Scan(ctx, l, Options{Workers: w}, func(*proto.QueueEntry) error { return nil }); !errors.Is(err, context.Canceled) {
			t.Errorf("workers=%d: cancelled context: %v", w, err)
		}
	}
	for i := 1; i < len(orders); i++ {
		if fmt.Sprint(orders[i]) != fmt.Sprint(orders[0]) {
			t.Errorf("order %d differs from the sequential one", i)
		}
	}
}

// A held message keeps the reasons of its last delivery attempt, as in
// Postfix, whose listing reads the defer log whatever the queue: "8D90E98446E!
// … (connect to …)". So does an active message being tried again.
func TestReasonsOutsideDeferred(t *testing.T) {
	l := newLayout(t)
	why := "connect to 127.0.0.1[127.0.0.1]:2599: Connection refused"
	for _, q := range []string{queue.Hold, queue.Active} {
		write(t, l, msg{queue: q, sender: "alice@mx.example.test", rcpts: []string{"user@remote.test"},
			reasons: map[string]string{"user@remote.test": why}})
	}
	entries := list(t, l, Options{})
	if len(entries) != 2 {
		t.Fatalf("%d entries, want 2", len(entries))
	}
	for _, e := range entries {
		if got := e.Recipients[0].DelayReason; got != why {
			t.Errorf("%s message: delay reason %q, want %q", e.QueueName, got, why)
		}
	}
}
