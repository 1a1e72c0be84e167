package config

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestReaderValues(t *testing.T) {
	c := Defaults()
	c.Set("flag_yes", "YES")
	c.Set("flag_true", "true")
	c.Set("flag_zero", "0")
	c.Set("bare_time", "30")
	c.Set("delay_warning_time", "4")
	c.Set("maximal_queue_lifetime", "2w")
	c.Set("smtpd_milters", "inet:127.0.0.1:8891, { unix:/run/m.sock, default_action=accept } inline:{a=b, c=d}\n\t x,,y")
	c.Set("relay_destination_concurrency_limit", "3")
	r := c.Reader()
	if !r.Bool("flag_yes") || !r.Bool("flag_true") || r.Bool("flag_zero") || r.Bool("soft_bounce") {
		t.Error("Bool")
	}
	if got := r.Int("smtpd_recipient_limit"); got != 1000 {
		t.Errorf("Int(smtpd_recipient_limit) = %d", got)
	}
	if got := r.Size("message_size_limit"); got != 10240000 {
		t.Errorf("Size(message_size_limit) = %d", got)
	}
	for name, want := range map[string]time.Duration{
		"queue_run_delay":        300 * time.Second,
		"maximal_queue_lifetime": 14 * 24 * time.Hour,
		"bounce_queue_lifetime":  5 * 24 * time.Hour,
		"delay_warning_time":     4 * time.Hour, // its unit is h
		"bare_time":              30 * time.Second,
		"smtpd_timeout":          300 * time.Second,
	} {
		if got := r.Duration(name); got != want {
			t.Errorf("Duration(%s) = %v, want %v", name, got, want)
		}
	}
	want := []string{"inet:127.0.0.1:8891", "unix:/run/m.sock, default_action=accept", "inline:{a=b, c=d}", "x", "y"}
	if got := r.List("smtpd_milters"); !reflect.DeepEqual(got, want) {
		t.Errorf("List = %q, want %q", got, want)
	}
	if got := r.List("mydestination"); len(got) != 3 || got[2] != "localhost" {
		t.Errorf("List(mydestination) = %q", got)
	}
	if got := r.First("relay_destination_concurrency_limit", "default_destination_concurrency_limit"); got != "relay_destination_concurrency_limit" {
		t.Errorf("First = %q", got)
	}
	if got := r.First("smtp_destination_concurrency_limit", "default_destination_concurrency_limit"); got != "default_destination_concurrency_limit" {
		t.Errorf("First = %q", got)
	}
	if err := r.Err(); err != nil {
		t.Errorf("Err = %v", err)
	}
}

func TestReaderErrors(t *testing.T) {
	for _, tc := range []struct {
		set, value string
		read       func(*Reader, string)
		want       string
	}{
		{"smtpd_recipient_limit", "abc", func(r *Reader, n string) { r.Int(n) }, "bad numerical configuration: smtpd_recipient_limit = abc"},
		{"smtpd_recipient_limit", "-1", func(r *Reader, n string) { r.Int(n) }, "bad numerical configuration: smtpd_recipient_limit = -1"},
		{"message_size_limit", "10M", func(r *Reader, n string) { r.Size(n) }, "bad numerical configuration: message_size_limit = 10M"},
		{"soft_bounce", "maybe", func(r *Reader, n string) { r.Bool(n) }, "bad boolean configuration: soft_bounce = maybe"},
		{"queue_run_delay", "5x", func(r *Reader, n string) { r.Duration(n) }, "bad time configuration: queue_run_delay = 5x: unknown time unit"},
		{"queue_run_delay", "1h30m", func(r *Reader, n string) { r.Duration(n) }, "bad time configuration: queue_run_delay = 1h30m"},
		{"queue_run_delay", "99999999999999999999w", func(r *Reader, n string) { r.Duration(n) }, "too large"},
		{"queue_run_delay", "s", func(r *Reader, n string) { r.Duration(n) }, "not a number"},
	} {
		c := Defaults()
		c.Set(tc.set, tc.value)
		r := c.Reader()
		tc.read(r, tc.set)
		r.Int("smtpd_recipient_limit") // a later error must not replace the first
		if err := r.Err(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s = %s: Err = %v, want %q", tc.set, tc.value, err, tc.want)
		}
	}
}

func TestEveryDefaultReads(t *testing.T) {
	r := Defaults().Reader()
	for _, p := range Params() {
		switch p.Kind {
		case KindBool:
			r.Bool(p.Name)
		case KindInt:
			r.Int(p.Name)
		case KindTime:
			r.Duration(p.Name)
		case KindSize:
			r.Size(p.Name)
		default:
			r.String(p.Name)
		}
		if err := r.Err(); err != nil {
			t.Fatalf("default of %s (%v) does not read: %v", p.Name, p.Kind, err)
		}
	}
}

func TestSignedInt(t *testing.T) {
	c := Defaults()
	c.Set("postscreen_dnsbl_allowlist_threshold", "-2")
	r := c.Reader()
	if got := r.Int("postscreen_dnsbl_allowlist_threshold"); got != -2 || r.Err() != nil {
		t.Errorf("Int = %d, %v", got, r.Err())
	}
}
