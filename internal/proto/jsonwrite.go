package proto

import (
	"strconv"
	"time"
	"unicode/utf8"
)

// Writer helpers for the hand-written encoders of fastjson.go. Each one
// appends exactly the bytes encoding/json's Marshal writes for the same Go
// value (with its default HTML escaping), so that a fast encoder and
// json.Marshal cannot be told apart on the wire.

const hexDigits = "0123456789abcdef"

// plainASCII[c] is true for the ASCII bytes encoding/json copies as they
// are into a string: printable characters other than the quote, the
// backslash and the HTML-sensitive <, > and &. DEL (0x7f) is plain.
var plainASCII = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		switch c {
		case '"', '\\', '<', '>', '&':
		default:
			t[c] = true
		}
	}
	return t
}()

// appendString appends s as a JSON string the way encoding/json writes
// it: short escapes for \b \f \n \r \t, \u00XX for the other control
// bytes and for <, > and &, \ufffd for each byte that is not valid UTF-8,
// \u2028 and \u2029 for the two line separators JavaScript dislikes, and
// every other character as it is.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	done := 0 // s[:done] is in b
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if plainASCII[c] {
				i++
				continue
			}
			b = append(b, s[done:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			done = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[done:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[done:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		done = i
	}
	b = append(b, s[done:]...)
	return append(b, '"')
}

// appendTime appends t as time.Time's MarshalJSON writes it: a quoted RFC
// 3339 time with nanoseconds, trailing zeros dropped. ok is false for the
// times MarshalJSON refuses (a year that does not take exactly four digits,
// a zone offset of 24 hours or more); the caller then leaves the message to
// encoding/json, which reports the error in its own words.
func appendTime(b []byte, t time.Time) (_ []byte, ok bool) {
	start := len(b) + 1
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	if len(b) < start+5 || b[start+4] != '-' {
		return b, false
	}
	if b[len(b)-1] != 'Z' {
		// The zone is "±hh:mm"; a longer hour pushes a digit where the
		// sign should be.
		zone := b[len(b)-6:]
		if isDigit(zone[0]) || (zone[1]-'0')*10+(zone[2]-'0') >= 24 {
			return b, false
		}
	}
	return append(b, '"'), true
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// appendKey appends a comma (unless first) and "name":.
func appendKey(b []byte, name string, first bool) []byte {
	if !first {
		b = append(b, ',')
	}
	b = append(b, '"')
	b = append(b, name...)
	return append(b, '"', ':')
}

// appendStringField appends "name":"value".
func appendStringField(b []byte, name, value string, first bool) []byte {
	return appendString(appendKey(b, name, first), value)
}

// appendIntField appends "name":value.
func appendIntField(b []byte, name string, value int64, first bool) []byte {
	return strconv.AppendInt(appendKey(b, name, first), value, 10)
}

// appendTrueField appends "name":true (a false omitempty bool is left out
// by its caller).
func appendTrueField(b []byte, name string) []byte {
	return append(appendKey(b, name, false), "true"...)
}
