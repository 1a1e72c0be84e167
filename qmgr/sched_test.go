package qmgr

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/dsn"
)

// A scheduler test is a list of steps at times (seconds from t0): add
// recipients, ask Next and compare its decisions, report a delivery's end.

var t0 = time.Date(2026, 11, 22, 11, 0, 0, 0, time.UTC)

type step struct {
	at   float64 // seconds after t0
	op   string  // "add", "next", "done", "flush", "event"
	id   string  // add: message ID; done: "ID:firstIndex"
	tr   string  // transport
	hop  string  // nexthop
	n    int     // add: recipients (indices 0..n-1, addresses r<i>@hop unless addrs)
	addr []string
	// done: outcome; next: wanted decisions, each "deliver ID tr hop [i j]"
	// or "defer ID tr hop [i]: reason"; event: wanted "+Ns" or "none"
	out  Outcome
	want []string
	flag bool // add: flushed
}

func schedConfig() SchedConfig {
	smtp := TransportConfig{DestConcurrency: 4, InitialConcurrency: 2, RecipientLimit: 2, ProcessLimit: 100,
		FailedCohortLimit: 1, PositiveFeedback: Feedback{Value: 1}, NegativeFeedback: Feedback{Value: 1}}
	local := TransportConfig{DestConcurrency: 2, InitialConcurrency: 5, RecipientLimit: 1, ProcessLimit: 100,
		FailedCohortLimit: 1, PositiveFeedback: Feedback{Value: 1}, NegativeFeedback: Feedback{Value: 1}}
	tight := smtp
	tight.ProcessLimit = 3
	deferred := smtp
	deferred.Deferred = true
	return SchedConfig{
		Transports:         map[string]TransportConfig{"smtp": smtp, "local": local, "tight": tight, "slow": deferred},
		Default:            smtp,
		SuspendTime:        60 * time.Second,
		TransportRetryTime: 30 * time.Second,
	}
}

func describe(a Action) string {
	e := a.Entry
	idx := make([]string, len(e.Rcpts))
	for i, r := range e.Rcpts {
		idx[i] = fmt.Sprint(r.Index)
	}
	s := fmt.Sprintf("%s %s %s %s [%s]", map[ActionKind]string{ActDeliver: "deliver", ActDefer: "defer"}[a.Kind],
		e.ID, e.Transport, e.Nexthop, strings.Join(idx, " "))
	if a.Kind == ActDefer {
		s += ": " + a.Status.Enhanced + " " + a.Status.Text
	}
	return s
}

var deadReason = &dsn.Status{Enhanced: "4.4.1", Text: "connect to mx[192.0.2.1]:25: Connection refused"}

func runSteps(t *testing.T, cfg SchedConfig, steps []step) *Sched {
	t.Helper()
	s := NewSched(cfg)
	started := map[string]*Entry{}
	for i, st := range steps {
		now := t0.Add(time.Duration(st.at * float64(time.Second)))
		switch st.op {
		case "add":
			var rc []RcptRef
			for k := range st.n {
				a := fmt.Sprintf("r%d@%s", k, st.hop)
				if k < len(st.addr) {
					a = st.addr[k]
				}
				rc = append(rc, RcptRef{Index: k, Addr: a})
			}
			s.Add(now, st.id, nil, st.tr, st.hop, rc, st.flag)
		case "next":
			var got []string
			for _, a := range s.Next(now) {
				got = append(got, describe(a))
				if a.Kind == ActDeliver {
					started[fmt.Sprintf("%s:%d", a.Entry.ID, a.Entry.Rcpts[0].Index)] = a.Entry
				}
			}
			if !slices.Equal(got, st.want) {
				t.Fatalf("step %d (t=%gs): Next gave\n\t%s\nwant\n\t%s", i, st.at, strings.Join(got, "\n\t"), strings.Join(st.want, "\n\t"))
			}
		case "done":
			e := started[st.id]
			if e == nil {
				t.Fatalf("step %d: no delivery %s under way", i, st.id)
			}
			delete(started, st.id)
			var reason *dsn.Status
			if st.out == Dead || st.out == AgentDown {
				reason = deadReason
			}
			s.Done(now, e, st.out, reason)
		case "flush":
			s.Flush()
		case "event":
			at, ok := s.NextEvent()
			got := "none"
			if ok {
				got = fmt.Sprintf("+%gs", at.Sub(t0).Seconds())
			}
			if got != st.want[0] {
				t.Fatalf("step %d: NextEvent = %s, want %s", i, got, st.want[0])
			}
		}
	}
	return s
}

func TestSched(t *testing.T) {
	tests := []struct {
		name  string
		steps []step
	}{
		{"recipient limit splits a message", []step{
			{op: "add", id: "m1", tr: "smtp", hop: "a.test", n: 5},
			{op: "next", want: []string{"deliver m1 smtp a.test [0 1]", "deliver m1 smtp a.test [2 3]"}},
			{op: "done", id: "m1:0"},
			{op: "next", want: []string{"deliver m1 smtp a.test [4]"}},
		}},
		{"slow start grows the window up to the limit", []step{
			{op: "add", id: "m1", tr: "smtp", hop: "a.test", n: 20},
			{op: "next", want: []string{"deliver m1 smtp a.test [0 1]", "deliver m1 smtp a.test [2 3]"}},
			{op: "done", id: "m1:0"}, // window 3
			{op: "next", want: []string{"deliver m1 smtp a.test [4 5]", "deliver m1 smtp a.test [6 7]"}},
			{op: "done", id: "m1:2"}, // window 4
			{op: "next", want: []string{"deliver m1 smtp a.test [8 9]", "deliver m1 smtp a.test [10 11]"}},
			{op: "done", id: "m1:4"}, // window stays 4
			{op: "next", want: []string{"deliver m1 smtp a.test [12 13]"}},
			{op: "next", want: nil},
		}},
		{"one recipient per delivery makes each recipient a destination", []step{
			{op: "add", id: "m1", tr: "local", hop: "mx.test", n: 1, addr: []string{"bob@mx.test"}},
			{op: "add", id: "m2", tr: "local", hop: "mx.test", n: 1, addr: []string{"BOB@mx.test"}},
			{op: "add", id: "m3", tr: "local", hop: "mx.test", n: 1, addr: []string{"bob@mx.test"}},
			{op: "add", id: "m4", tr: "local", hop: "mx.test", n: 2, addr: []string{"carol@mx.test", "dave@mx.test"}},
			// Round robin: bob's destination goes to the back of the line
			// after its first delivery.
			{op: "next", want: []string{"deliver m1 local mx.test [0]", "deliver m4 local mx.test [0]",
				"deliver m4 local mx.test [1]", "deliver m2 local mx.test [0]"}},
			{op: "done", id: "m1:0"},
			{op: "next", want: []string{"deliver m3 local mx.test [0]"}},
		}},
		{"a dead destination is suspended and its mail deferred", []step{
			{op: "add", id: "m1", tr: "smtp", hop: "dead.test", n: 8},
			{op: "next", want: []string{"deliver m1 smtp dead.test [0 1]", "deliver m1 smtp dead.test [2 3]"}},
			{at: 10, op: "done", id: "m1:0", out: Dead}, // cohorts 0.5, window 1
			{at: 10, op: "next", want: nil},
			{at: 20, op: "done", id: "m1:2", out: Dead}, // cohorts 1.5: suspended until 80
			{at: 20, op: "next", want: []string{
				"defer m1 smtp dead.test [4 5]: 4.4.1 delivery temporarily suspended: connect to mx[192.0.2.1]:25: Connection refused",
				"defer m1 smtp dead.test [6 7]: 4.4.1 delivery temporarily suspended: connect to mx[192.0.2.1]:25: Connection refused"}},
			{at: 20, op: "event", want: []string{"+80s"}},
			{at: 30, op: "add", id: "m2", tr: "smtp", hop: "dead.test", n: 1},
			{at: 30, op: "add", id: "m3", tr: "smtp", hop: "alive.test", n: 1},
			{at: 30, op: "next", want: []string{
				"defer m2 smtp dead.test [0]: 4.4.1 delivery temporarily suspended: connect to mx[192.0.2.1]:25: Connection refused",
				"deliver m3 smtp alive.test [0]"}},
			{at: 80, op: "add", id: "m4", tr: "smtp", hop: "dead.test", n: 1},
			{at: 80, op: "next", want: []string{"deliver m4 smtp dead.test [0]"}},
			{at: 80, op: "event", want: []string{"none"}},
		}},
		{"a destination that answers again is not suspended", []step{
			{op: "add", id: "m1", tr: "smtp", hop: "flaky.test", n: 8},
			{op: "next", want: []string{"deliver m1 smtp flaky.test [0 1]", "deliver m1 smtp flaky.test [2 3]"}},
			{op: "done", id: "m1:0", out: Dead}, // cohorts 0.5, window 1
			{op: "done", id: "m1:2"},            // cohorts 0, window 2
			{op: "next", want: []string{"deliver m1 smtp flaky.test [4 5]", "deliver m1 smtp flaky.test [6 7]"}},
		}},
		{"an idle destination forgets a failure", []step{
			{op: "add", id: "m1", tr: "smtp", hop: "dead.test", n: 1},
			{op: "next", want: []string{"deliver m1 smtp dead.test [0]"}},
			{op: "done", id: "m1:0", out: Dead}, // half a cohort, then idle
			{op: "add", id: "m2", tr: "smtp", hop: "dead.test", n: 4},
			{op: "next", want: []string{"deliver m2 smtp dead.test [0 1]", "deliver m2 smtp dead.test [2 3]"}},
		}},
		{"a broken agent says nothing about the destination", []step{
			{op: "add", id: "m1", tr: "smtp", hop: "a.test", n: 6},
			{op: "next", want: []string{"deliver m1 smtp a.test [0 1]", "deliver m1 smtp a.test [2 3]"}},
			{op: "done", id: "m1:0", out: Broken},
			{op: "done", id: "m1:2", out: Broken},
			{op: "next", want: []string{"deliver m1 smtp a.test [4 5]"}},
		}},
		{"flush ends a suspension", []step{
			{op: "add", id: "m1", tr: "smtp", hop: "dead.test", n: 4},
			{op: "next", want: []string{"deliver m1 smtp dead.test [0 1]", "deliver m1 smtp dead.test [2 3]"}},
			{op: "done", id: "m1:0", out: Dead}, // cohorts 0.5, window 1
			{op: "done", id: "m1:2", out: Dead}, // cohorts 1.5: suspended
			{op: "add", id: "m3", tr: "smtp", hop: "dead.test", n: 1},
			{op: "next", want: []string{"defer m3 smtp dead.test [0]: 4.4.1 delivery temporarily suspended: connect to mx[192.0.2.1]:25: Connection refused"}},
			{op: "flush"},
			{op: "add", id: "m4", tr: "smtp", hop: "dead.test", n: 1},
			{op: "next", want: []string{"deliver m4 smtp dead.test [0]"}},
		}},
		{"an unreachable agent makes the transport unavailable", []step{
			{op: "add", id: "m1", tr: "smtp", hop: "a.test", n: 6},
			{op: "add", id: "m2", tr: "smtp", hop: "b.test", n: 1},
			{op: "add", id: "m3", tr: "local", hop: "mx.test", n: 1},
			{op: "next", want: []string{"deliver m1 smtp a.test [0 1]", "deliver m3 local mx.test [0]",
				"deliver m2 smtp b.test [0]", "deliver m1 smtp a.test [2 3]"}},
			{at: 1, op: "done", id: "m1:0", out: AgentDown},
			{at: 1, op: "next", want: []string{"defer m1 smtp a.test [4 5]: 4.3.0 mail transport unavailable: connect to mx[192.0.2.1]:25: Connection refused"}},
			{at: 2, op: "add", id: "m4", tr: "smtp", hop: "c.test", n: 1},
			{at: 2, op: "next", want: []string{"defer m4 smtp c.test [0]: 4.3.0 mail transport unavailable: connect to mx[192.0.2.1]:25: Connection refused"}},
			{at: 2, op: "event", want: []string{"+31s"}},
			{at: 31, op: "add", id: "m5", tr: "smtp", hop: "c.test", n: 1},
			{at: 31, op: "next", want: []string{"deliver m5 smtp c.test [0]"}},
		}},
		{"defer_transports hold mail until a flush", []step{
			{op: "add", id: "m1", tr: "slow", hop: "a.test", n: 1},
			{op: "add", id: "m2", tr: "slow", hop: "a.test", n: 1, flag: true},
			{op: "next", want: []string{"defer m1 slow a.test [0]: 4.3.2 deferred transport", "deliver m2 slow a.test [0]"}},
		}},
		{"destinations take turns within a transport's process limit", []step{
			{op: "add", id: "big", tr: "tight", hop: "a.test", n: 20},
			{op: "add", id: "m2", tr: "tight", hop: "b.test", n: 4},
			{op: "add", id: "m3", tr: "tight", hop: "c.test", n: 1},
			{op: "next", want: []string{"deliver big tight a.test [0 1]", "deliver m2 tight b.test [0 1]", "deliver m3 tight c.test [0]"}},
			{op: "done", id: "big:0"},
			{op: "next", want: []string{"deliver big tight a.test [2 3]"}},
			{op: "done", id: "m3:0"},
			{op: "next", want: []string{"deliver m2 tight b.test [2 3]"}},
			{op: "done", id: "big:2"},
			{op: "done", id: "m2:0"},
			{op: "next", want: []string{"deliver big tight a.test [4 5]", "deliver big tight a.test [6 7]"}},
		}},
		{"a dead destination holds only its own window", []step{
			{op: "add", id: "d1", tr: "tight", hop: "dead.test", n: 10},
			{op: "add", id: "ok", tr: "tight", hop: "ok.test", n: 40},
			{op: "next", want: []string{"deliver d1 tight dead.test [0 1]", "deliver ok tight ok.test [0 1]", "deliver d1 tight dead.test [2 3]"}},
			// dead.test never answers; ok.test keeps the one slot left busy.
			{op: "done", id: "ok:0"},
			{op: "next", want: []string{"deliver ok tight ok.test [2 3]"}},
			{op: "done", id: "ok:2"},
			{op: "next", want: []string{"deliver ok tight ok.test [4 5]"}},
			{op: "done", id: "ok:4"},
			{op: "next", want: []string{"deliver ok tight ok.test [6 7]"}},
		}},
		{"transports take turns", []step{
			{op: "add", id: "s", tr: "smtp", hop: "a.test", n: 4},
			{op: "add", id: "l", tr: "local", hop: "mx.test", n: 3},
			{op: "next", want: []string{"deliver s smtp a.test [0 1]", "deliver l local mx.test [0]",
				"deliver s smtp a.test [2 3]", "deliver l local mx.test [1]", "deliver l local mx.test [2]"}},
		}},
		{"unknown transports get the default limits", []step{
			{op: "add", id: "m1", tr: "relay", hop: "x.test", n: 3},
			{op: "next", want: []string{"deliver m1 relay x.test [0 1]", "deliver m1 relay x.test [2]"}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { runSteps(t, schedConfig(), tt.steps) })
	}
}

func TestFeedbackPerWindow(t *testing.T) {
	cfg := schedConfig()
	tc := cfg.Transports["smtp"]
	tc.DestConcurrency = 100
	tc.InitialConcurrency = 4
	tc.RecipientLimit = 1000
	tc.PositiveFeedback = Feedback{Value: 1, Per: PerWindow}
	tc.NegativeFeedback = Feedback{Value: 1, Per: PerWindow}
	tc.FailedCohortLimit = 0
	cfg.Transports["smtp"] = tc
	s := NewSched(cfg)
	for i := range 100 {
		s.Add(t0, fmt.Sprint(i), nil, "smtp", "a.test", []RcptRef{{Index: 0, Addr: "x@a.test"}}, false)
	}
	// Four successes at window 4 add one: a window's worth of deliveries
	// raises it by one.
	for range 4 {
		for _, a := range s.Next(t0) {
			s.Done(t0, a.Entry, Reached, nil)
			break
		}
	}
	if w := s.Window("smtp", "a.test"); w < 4.9 || w > 5.1 {
		t.Errorf("window after 4 successes from 4 = %.2f, want about 5", w)
	}
	for _, a := range s.Next(t0) {
		s.Done(t0, a.Entry, Dead, deadReason)
	}
	if w := s.Window("smtp", "a.test"); w >= 5 || w < 1 {
		t.Errorf("window after failures = %.2f, want between 1 and 5", w)
	}
}
