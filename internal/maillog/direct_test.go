package maillog

import (
	"bytes"
	"testing"
	"time"
)

// recorder keeps each write apart, as datagrams are.
type recorder struct{ writes [][]byte }

func (r *recorder) Write(p []byte) (int, error) {
	r.writes = append(r.writes, append([]byte(nil), p...))
	return len(p), nil
}

func TestDirectFileStampsEveryLineInOneWrite(t *testing.T) {
	var r recorder
	d := NewDirect(&r, "mx.example.test", false)
	d.now = func() time.Time { return time.Date(2026, 11, 4, 1, 5, 50, 0, time.UTC) }
	l := New(d, "postfix", "qmgr", 812)
	l.Batch(time.Hour)
	l.Info("ABC: removed")
	l.Info("DEF: removed")
	l.Flush()
	if len(r.writes) != 1 {
		t.Fatalf("%d writes, want the batch in one: %q", len(r.writes), r.writes)
	}
	want := "Nov  4 01:05:50 mx.example.test postfix/qmgr[812]: ABC: removed\n" +
		"Nov  4 01:05:50 mx.example.test postfix/qmgr[812]: DEF: removed\n"
	if got := string(r.writes[0]); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestDirectSyslogOneDatagramPerLineWithSeverity(t *testing.T) {
	var r recorder
	d := NewDirect(&r, "", true)
	d.now = func() time.Time { return time.Date(2026, 11, 24, 13, 0, 1, 0, time.UTC) }
	l := New(d, "postfix", "smtpd", 7)
	l.Info("connect from a[1.2.3.4]")
	l.Warning("hostname b does not resolve")
	want := []string{
		"<22>Nov 24 13:00:01 postfix/smtpd[7]: connect from a[1.2.3.4]",
		"<20>Nov 24 13:00:01 postfix/smtpd[7]: warning: hostname b does not resolve",
	}
	if len(r.writes) != len(want) {
		t.Fatalf("%d datagrams, want %d: %q", len(r.writes), len(want), r.writes)
	}
	for i, w := range want {
		if got := string(r.writes[i]); got != w {
			t.Errorf("datagram %d = %q, want %q", i, got, w)
		}
	}
}

func TestSetOutputWritesHeldLinesToTheOldWriter(t *testing.T) {
	var before, after bytes.Buffer
	l := New(&before, "postfix", "cleanup", 3)
	l.Batch(time.Hour)
	l.Info("one")
	l.SetOutput(&after)
	l.Info("two")
	l.Flush()
	if before.String() != "postfix/cleanup[3]: one\n" || after.String() != "postfix/cleanup[3]: two\n" {
		t.Errorf("before %q, after %q", before.String(), after.String())
	}
}
