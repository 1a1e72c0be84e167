package bounce

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Lines of the human part and long DSN fields are wrapped like Postfix's:
// at most wrapWidth bytes, continuation lines indented by wrapIndent
// spaces, broken only at spaces (a word longer than a line stays whole).
const (
	wrapWidth  = 79
	wrapIndent = 4
)

// wrap appends text to b as wrapped lines, each ending in "\n".
func wrap(b *strings.Builder, text string) {
	limit := wrapWidth
	for {
		if len(text) <= limit {
			b.WriteString(text)
			b.WriteByte('\n')
			return
		}
		cut := strings.LastIndexByte(text[:limit+1], ' ')
		if cut <= 0 {
			i := strings.IndexByte(text[limit:], ' ')
			if i < 0 {
				b.WriteString(text)
				b.WriteByte('\n')
				return
			}
			cut = limit + i
		}
		b.WriteString(strings.TrimRight(text[:cut], " "))
		b.WriteByte('\n')
		text = strings.TrimLeft(text[cut:], " ")
		if text == "" {
			return
		}
		b.WriteString("    ")
		limit = wrapWidth - wrapIndent
	}
}

// clean makes text from logs and envelopes safe to put in a header or a
// line of the report: control characters (newlines included) become
// spaces, DEL and bytes that are not UTF-8 become '?'. Valid UTF-8 stays,
// since the report is 8-bit.
func clean(s string) string {
	ok := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' || c == 0x7f || c >= utf8.RuneSelf {
			ok = false
			break
		}
	}
	if ok {
		return s
	}
	s = strings.ToValidUTF8(s, "?")
	return strings.Map(func(r rune) rune {
		switch {
		case r < ' ':
			return ' '
		case r == 0x7f:
			return '?'
		}
		return r
	}, s)
}

// isASCII reports whether s has only 7-bit bytes.
func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// mailDate formats t as RFC 5322 dates are written in Postfix's headers
// and reports: "Sun, 22 Nov 2026 11:07:51 +0000 (UTC)", with the day of
// the month padded by a space ("Mon,  2 Nov …").
func mailDate(t time.Time, loc *time.Location) string {
	if loc == nil {
		loc = time.Local
	}
	return t.In(loc).Format("Mon, _2 Jan 2006 15:04:05 -0700 (MST)")
}

// humanDuration says how long d is in the largest unit that gives a
// number of at least 2 ("3 days", "5 hours", "1 minute").
func humanDuration(d time.Duration) string {
	units := []struct {
		d    time.Duration
		name string
	}{
		{24 * time.Hour, "day"},
		{time.Hour, "hour"},
		{time.Minute, "minute"},
	}
	for _, u := range units {
		if d >= 2*u.d {
			return plural(int64(d/u.d), u.name)
		}
	}
	if d >= time.Minute {
		return plural(1, "minute")
	}
	return plural(int64(d/time.Second), "second")
}

func plural(n int64, unit string) string {
	s := strconv.FormatInt(n, 10) + " " + unit
	if n != 1 {
		s += "s"
	}
	return s
}

// decodeXtext undoes RFC 3461 xtext ("+2B" for '+') in a DSN ORCPT value.
// Malformed escapes are kept as they are.
func decodeXtext(s string) string {
	if !strings.Contains(s, "+") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '+' && i+2 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+3], 16, 8); err == nil && isUpperHex(s[i+1]) && isUpperHex(s[i+2]) {
				b.WriteByte(byte(v))
				i += 2
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isUpperHex(c byte) bool { return '0' <= c && c <= '9' || 'A' <= c && c <= 'F' }
