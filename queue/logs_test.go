package queue

import (
	"os"
	"reflect"
	"testing"
	"time"
)

func TestLogs(t *testing.T) {
	l := newLayout(t)
	id := NewID(arrival, 77)
	if recs, err := l.ReadLog(Defer, id); recs != nil || err != nil {
		t.Fatalf("missing log: %v, %v", recs, err)
	}
	first := []LogRecord{{
		Recipient: "user@remote.test", Orig: "User@remote.test", Offset: 321,
		Status: "4.4.1", Action: "delayed",
		Reason: "connect to 127.0.0.1[127.0.0.1]:2599: Connection refused",
		Time:   arrival,
	}}
	second := []LogRecord{
		{Recipient: "a@remote.test", Status: "5.1.1", Action: "failed",
			Reason:    "host x said: 550 5.1.1 no\nsuch user \\ here\r",
			RemoteMTA: "dns; mx.remote.test", DiagType: "smtp", Diag: "550 5.1.1 no such user",
			Time: arrival.Add(time.Second)},
		{}, // an empty record survives too
	}
	for _, recs := range [][]LogRecord{first, second} {
		if err := l.AppendLog(Defer, id, recs); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(l.Path(Defer, id)); err != nil {
		t.Errorf("log not at its hashed path: %v", err)
	}
	got, err := l.ReadLog(Defer, id)
	if err != nil {
		t.Fatal(err)
	}
	want := append(first, second...)
	for i := range got {
		if !got[i].Time.Equal(want[i].Time) {
			t.Errorf("record %d: time %v, want %v", i, got[i].Time, want[i].Time)
		}
		got[i].Time = want[i].Time
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ReadLog:\n got %+v\nwant %+v", got, want)
	}

	// A record cut short by a crash is ignored; the others are read.
	f, err := os.OpenFile(l.Path(Defer, id), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("recipient=half@remote.test\nstatus=4.")
	f.Close()
	if got, err := l.ReadLog(Defer, id); err != nil || len(got) != 3 {
		t.Errorf("with a partial record: %d records, %v", len(got), err)
	}

	if err := l.AppendLog(Bounce, id, first); err != nil {
		t.Fatal(err)
	}
	if got, err := l.ReadLog(Bounce, id); err != nil || len(got) != 1 {
		t.Errorf("bounce log: %v, %v", got, err)
	}
	for _, q := range []string{Defer, Bounce, Trace} {
		if err := l.RemoveLog(q, id); err != nil {
			t.Errorf("RemoveLog(%s): %v", q, err)
		}
	}
	if recs, err := l.ReadLog(Defer, id); recs != nil || err != nil {
		t.Errorf("after RemoveLog: %v, %v", recs, err)
	}
	if err := l.AppendLog(Defer, "bad/id", first); err == nil {
		t.Error("AppendLog accepted a bad ID")
	}
}
