package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Reader reads typed parameter values. It keeps the first error, so a
// program's main can read all its parameters and check once:
//
//	r := cfg.Reader()
//	limit := r.Int("smtpd_recipient_limit")
//	timeout := r.Duration("smtpd_timeout")
//	if err := r.Err(); err != nil { … }
//
// Messages are Postfix's: "bad numerical configuration:
// smtpd_recipient_limit = abc".
type Reader struct {
	c   *Config
	err error
}

// Reader returns a Reader over c.
func (c *Config) Reader() *Reader { return &Reader{c: c} }

// Err returns the first error met, or nil.
func (r *Reader) Err() error { return r.err }

func (r *Reader) fail(err error) {
	if r.err == nil {
		r.err = err
	}
}

// String returns the expanded value of name.
func (r *Reader) String(name string) string {
	v, err := r.c.Expand(name)
	if err != nil {
		r.fail(err)
	}
	return v
}

// Bool reads yes/no, true/false or 1/0, in any case.
func (r *Reader) Bool(name string) bool {
	v := r.String(name)
	switch strings.ToLower(v) {
	case "yes", "true", "1":
		return true
	case "no", "false", "0":
		return false
	}
	r.fail(fmt.Errorf("bad boolean configuration: %s = %s", name, v))
	return false
}

// signedInts are the integer parameters that may be negative.
var signedInts = map[string]bool{
	"postscreen_dnsbl_allowlist_threshold": true,
	"postscreen_dnsbl_whitelist_threshold": true,
}

// Int64 reads a whole number, which must not be negative except for the
// few parameters where Postfix allows it.
func (r *Reader) Int64(name string) int64 {
	v := r.String(name)
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil || n < 0 && !signedInts[name] {
		r.fail(fmt.Errorf("bad numerical configuration: %s = %s", name, v))
		return 0
	}
	return n
}

// Int reads a whole number, as Int64 does.
func (r *Reader) Int(name string) int {
	n := r.Int64(name)
	if n > math.MaxInt {
		r.fail(fmt.Errorf("bad numerical configuration: %s = %d: too large", name, n))
		return 0
	}
	return int(n)
}

// Size reads a number of bytes.
func (r *Reader) Size(name string) int64 {
	n := r.Int64(name)
	if n < 0 {
		r.fail(fmt.Errorf("bad numerical configuration: %s = %d", name, n))
		return 0
	}
	return n
}

// Duration reads a time: a number followed by one of the units s
// (seconds), m (minutes), h (hours), d (days) or w (weeks). A bare number
// is in the parameter's own unit (Param.Unit), seconds for a parameter
// Postern does not know.
func (r *Reader) Duration(name string) time.Duration {
	v := r.String(name)
	unit := byte('s')
	if p, ok := registry[name]; ok && p.Unit != 0 {
		unit = p.Unit
	}
	d, err := parseDuration(strings.TrimSpace(v), unit)
	if err != nil {
		r.fail(fmt.Errorf("bad time configuration: %s = %s: %w", name, v, err))
	}
	return d
}

var timeUnits = map[byte]time.Duration{
	's': time.Second,
	'm': time.Minute,
	'h': time.Hour,
	'd': 24 * time.Hour,
	'w': 7 * 24 * time.Hour,
}

func parseDuration(v string, unit byte) (time.Duration, error) {
	digits := v
	if n := len(v); n > 0 && (v[n-1] < '0' || v[n-1] > '9') {
		digits, unit = v[:n-1], v[n-1]
	}
	mult, ok := timeUnits[unit]
	if !ok {
		return 0, fmt.Errorf("unknown time unit %q (use s, m, h, d or w)", unit)
	}
	if !allDigits(digits) {
		return 0, fmt.Errorf("not a number")
	}
	n, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || n > int64(math.MaxInt64/mult) {
		return 0, fmt.Errorf("too large")
	}
	return time.Duration(n) * mult, nil
}

// List splits the value of name on commas and whitespace. An item in
// braces, such as "{ inet:127.0.0.1:8891, default_action=accept }", is one
// item, returned without its braces and the space inside them.
func (r *Reader) List(name string) []string {
	return SplitList(r.String(name))
}

// SplitList splits a list value as Reader.List does.
func SplitList(s string) []string {
	var out []string
	for i := 0; i < len(s); {
		if isListSep(s[i]) {
			i++
			continue
		}
		start, depth := i, 0
		for ; i < len(s); i++ {
			c := s[i]
			if c == '{' {
				depth++
			} else if c == '}' && depth > 0 {
				depth--
			} else if depth == 0 && isListSep(c) {
				break
			}
		}
		item := s[start:i]
		if len(item) >= 2 && item[0] == '{' && matching(item, 0) == len(item)-1 {
			item = strings.TrimSpace(item[1 : len(item)-1])
		}
		out = append(out, item)
	}
	return out
}

func isListSep(c byte) bool { return c == ',' || isSpace(c) }

// First returns the first of names that is set, else the last of them.
// It picks between a per-transport parameter and its default:
//
//	r.Int(r.First("relay_destination_concurrency_limit", "default_destination_concurrency_limit"))
func (r *Reader) First(names ...string) string {
	for _, n := range names {
		if r.c.IsSet(n) {
			return n
		}
	}
	if len(names) == 0 {
		return ""
	}
	return names[len(names)-1]
}
