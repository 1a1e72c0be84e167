package queue

import (
	"math/rand/v2"
	"testing"
	"time"
)

// The long ID and hashed path of a message a real Postfix queued
// (COMPAT.md §5): deferred/8/4jXRDB400qz1SCHg.
func TestIDMatchesPostfix(t *testing.T) {
	const id = "4jXRDB400qz1SCHg"
	tm, ok := IDTime(id)
	if !ok {
		t.Fatalf("IDTime(%s) failed", id)
	}
	if usec := tm.Nanosecond() / 1000; usec != 562475 {
		t.Errorf("microseconds = %d, want 562475", usec)
	}
	inode := digitsValue("1SCHg", 51)
	if got := NewID(tm, inode); got != id {
		t.Errorf("NewID = %s, want %s", got, id)
	}
	l := NewLayout("/q", []string{Deferred}, 1)
	if got := l.Path(Deferred, id); got != "/q/deferred/8/"+id {
		t.Errorf("Path = %s", got)
	}
	if got := NewLayout("/q", []string{Deferred}, 2).Path(Deferred, id); got != "/q/deferred/8/9/"+id {
		t.Errorf("Path, depth 2 = %s", got)
	}
	if got := l.Path(Incoming, id); got != "/q/incoming/"+id {
		t.Errorf("unhashed Path = %s", got)
	}
}

func TestValidID(t *testing.T) {
	cases := map[string]bool{
		"4jXRDB400qz1SCHg":  true,
		"4jXRDB400qz0":      true,
		"4jXRDB400qz":       false, // no inode
		"4jXRDB400qz1SCHgX": false, // 17 characters
		"4jXRDB400qy1SCHg":  false, // no separator
		"4jXRDB400qz1SzHg":  false, // z in the inode
		"4jXRDA400qz1SCHg":  false, // vowel
		"4jXRDBzzzzz1SCHg":  false, // microseconds over a million
		"../../etc/passwd":  false,
		"":                  false,
		"tmp.123.4":         false,
	}
	for id, want := range cases {
		if got := ValidID(id); got != want {
			t.Errorf("ValidID(%q) = %v, want %v", id, got, want)
		}
	}
}

func TestIDsSortByTime(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for range 10000 {
		t1 := base.Add(time.Duration(r.Int64N(int64(50 * 365 * 24 * time.Hour)))).Truncate(time.Microsecond)
		t2 := t1.Add(time.Duration(r.Int64N(int64(time.Hour)) + 1000)).Truncate(time.Microsecond)
		if t2 == t1 {
			continue
		}
		a, b := NewID(t1, r.Uint64()), NewID(t2, r.Uint64())
		if !(a < b) {
			t.Fatalf("%s (%v) does not sort before %s (%v)", a, t1, b, t2)
		}
		if got, _ := IDTime(a); !got.Equal(t1) || len(a) > 16 || !ValidID(a) {
			t.Fatalf("ID %s: time %v, want %v", a, got, t1)
		}
	}
}
