package qmgr

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/config"
)

func TestReadConfig(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "main.cf"), []byte(`
queue_directory = /tmp/q
myhostname = mx.example.test
queue_run_delay = 10s
minimal_backoff_time = 1m
maximal_backoff_time = 30s
relay_destination_concurrency_limit = 7
relay_destination_recipient_limit = 3
default_destination_concurrency_negative_feedback = 1/concurrency
smtp_destination_concurrency_positive_feedback = 1/4
defer_transports = relay
default_process_limit = 33
default_filter_nexthop = [127.0.0.1]:10024
`), 0o644)
	os.WriteFile(filepath.Join(dir, "master.cf"), []byte(`
qmgr      unix  n  -  n  300  1  qmgr
smtp      unix  -  -  n  -    -  smtp
relay     unix  -  -  n  -    12 smtp
local     unix  -  n  n  -    -  local
mypipe    unix  -  n  n  -    -  pipe flags=R user=nobody argv=/bin/cat
cleanup   unix  n  -  n  -    0  cleanup
`), 0o644)
	cfg, err := config.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	c, err := ReadConfig(cfg, []string{"-v"})
	if err != nil {
		t.Fatal(err)
	}
	if c.QueueDir != "/tmp/q" || c.QueueRunDelay != 10*time.Second || c.MinBackoff != time.Minute ||
		c.MaxBackoff != time.Minute || !c.Verbose || c.ActiveLimit != 20000 || c.DefaultFilterNexthop != "[127.0.0.1]:10024" {
		t.Errorf("config %+v", c)
	}
	tr := c.Sched.Transports
	if len(tr) != 4 {
		t.Errorf("transports %v, want smtp, relay, local, mypipe", tr)
	}
	want := map[string]TransportConfig{
		"smtp": {DestConcurrency: 20, InitialConcurrency: 5, RecipientLimit: 50, ProcessLimit: 33, FailedCohortLimit: 1,
			PositiveFeedback: Feedback{Value: 0.25}, NegativeFeedback: Feedback{Value: 1, Per: PerWindow}},
		"relay": {DestConcurrency: 7, InitialConcurrency: 5, RecipientLimit: 3, ProcessLimit: 12, FailedCohortLimit: 1,
			PositiveFeedback: Feedback{Value: 1}, NegativeFeedback: Feedback{Value: 1, Per: PerWindow}, Deferred: true},
		"local": {DestConcurrency: 2, InitialConcurrency: 5, RecipientLimit: 1, ProcessLimit: 33, FailedCohortLimit: 1,
			PositiveFeedback: Feedback{Value: 1}, NegativeFeedback: Feedback{Value: 1, Per: PerWindow}},
	}
	for name, w := range want {
		if tr[name] != w {
			t.Errorf("%s: %+v\nwant %+v", name, tr[name], w)
		}
	}
	if c.Sched.SuspendTime != time.Minute || c.Sched.TransportRetryTime != 60*time.Second {
		t.Errorf("sched %+v", c.Sched)
	}
	if c.Resolve.MyHostname != "mx.example.test" || c.Resolve.LocalTransport != "local:mx.example.test" {
		t.Errorf("resolve config %+v", c.Resolve)
	}
}

func TestReadConfigErrors(t *testing.T) {
	for _, tt := range []string{
		"default_destination_concurrency_positive_feedback = fast\n",
		"smtp_destination_concurrency_negative_feedback = 1/0\n",
		"queue_run_delay = soon\n",
	} {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "main.cf"), []byte(tt), 0o644)
		os.WriteFile(filepath.Join(dir, "master.cf"), []byte("smtp unix - - n - - smtp\n"), 0o644)
		cfg, err := config.Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ReadConfig(cfg, nil); err == nil {
			t.Errorf("%q: no error", tt)
		}
	}
}

func TestParseFeedback(t *testing.T) {
	for in, want := range map[string]Feedback{
		"1": {Value: 1}, "0.5": {Value: 0.5}, "1/4": {Value: 0.25}, "1/concurrency": {Value: 1, Per: PerWindow},
		"2 / sqrt_concurrency": {Value: 2, Per: PerSqrtWindow},
	} {
		got, err := parseFeedback("x", in)
		if err != nil || got != want {
			t.Errorf("parseFeedback(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "-1", "a/b", "1/", "1/0"} {
		if _, err := parseFeedback("x", in); err == nil {
			t.Errorf("parseFeedback(%q): no error", in)
		}
	}
}

func TestBackoffAndLifetime(t *testing.T) {
	const m = time.Minute
	for _, tt := range []struct{ age, want time.Duration }{
		{0, 5 * m}, {4 * m, 5 * m}, {5 * m, 5 * m}, {10 * m, 10 * m}, {20 * m, 20 * m}, {100 * m, 60 * m},
	} {
		if got := backoff(tt.age, 5*m, 60*m); got != tt.want {
			t.Errorf("backoff(age %v) = %v, want %v", tt.age, got, tt.want)
		}
	}
	// Tried at arrival, then after min, 2 min, 4 min: the wait doubles.
	var at time.Duration
	var waits []time.Duration
	for range 5 {
		w := backoff(at, 5*m, 60*m)
		waits = append(waits, w)
		at += w
	}
	if waits[1] != 5*m || waits[2] != 10*m || waits[3] != 20*m || waits[4] != 40*m {
		t.Errorf("waits %v, want 5m 5m 10m 20m 40m", waits)
	}
	for _, tt := range []struct {
		sender string
		age    time.Duration
		want   bool
	}{
		{"a@b", 4 * 24 * time.Hour, false}, {"a@b", 5 * 24 * time.Hour, true},
		{"", time.Hour, false}, {"", 2 * time.Hour, true},
	} {
		if got := expired(tt.sender, tt.age, 5*24*time.Hour, 2*time.Hour); got != tt.want {
			t.Errorf("expired(%q, %v) = %v", tt.sender, tt.age, got)
		}
	}
	if !expired("a@b", 0, 0, 0) {
		t.Error("a lifetime of zero should allow one try only")
	}
}
