package proto

import (
	"bytes"
	"errors"
	"math"
	"time"
	"unicode/utf8"
)

// The reader of the fast decoders (fastjson.go). It reads the JSON our
// encoders write, and only what it can read exactly as encoding/json's
// Unmarshal would into a zero value. At the first thing it is not sure of
// it marks itself bad and stops; the decoder then answers errSlowPath and
// the message goes to encoding/json, which decodes it or reports the error.
// So the reader never has to explain a failure, only to never succeed
// where encoding/json would fail or decode differently.
//
// What makes it give up: a byte that is not valid JSON where it is; a key
// with an escape or a non-ASCII byte, or one that matches a field only
// when case is ignored (encoding/json would take it); a key seen twice; a
// number with a fraction or an exponent, or out of its field's range; a
// value of the wrong type; a string with a surrogate escape or invalid
// UTF-8 (encoding/json replaces those); nesting deeper than maxSkipDepth
// in an unknown field; anything after the message.
//
// null is read as encoding/json reads it into a zero value: it leaves the
// field zero, whatever its type. It is common: json.Marshal writes null
// for a nil slice or pointer without omitempty ("rcpts", "results", a
// result's "status").

// errSlowPath says the fast path leaves a message to encoding/json.
var errSlowPath = errors.New("message left to encoding/json")

// maxSkipDepth bounds the nesting of an unknown field's value.
const maxSkipDepth = 32

type reader struct {
	p   []byte
	i   int
	bad bool
	buf []byte // room for strings with escapes (not kept if they outgrow it)
}

// fail marks r bad and moves to the end, so that every later read fails
// at once and every loop ends.
func (r *reader) fail() {
	r.bad = true
	r.i = len(r.p)
}

func (r *reader) ws() {
	for r.i < len(r.p) {
		switch r.p[r.i] {
		case ' ', '\t', '\n', '\r':
			r.i++
		default:
			return
		}
	}
}

// peek skips white space and returns the next byte, failing at the end.
func (r *reader) peek() byte {
	r.ws()
	if r.i >= len(r.p) {
		r.fail()
		return 0
	}
	return r.p[r.i]
}

// literal consumes word if it comes next.
func (r *reader) literal(word string) bool {
	if len(r.p)-r.i >= len(word) && string(r.p[r.i:r.i+len(word)]) == word {
		r.i += len(word)
		return true
	}
	return false
}

// null consumes a null if one comes next.
func (r *reader) null() bool {
	return r.peek() == 'n' && r.literal("null")
}

// end checks that nothing but white space follows the message.
func (r *reader) end() {
	r.ws()
	if r.i != len(r.p) {
		r.fail()
	}
}

// open consumes the '{' or '[' that starts a value. It returns false for a
// null (the value stays zero) or on error.
func (r *reader) open(c byte) bool {
	if r.null() {
		return false
	}
	if r.peek() != c {
		r.fail()
		return false
	}
	r.i++
	return true
}

// more moves to the next member of an object or element of an array whose
// first n members were read, consuming the comma between two. It returns
// false once it has consumed the closing byte, or on error.
func (r *reader) more(closing byte, n int) bool {
	c := r.peek()
	switch {
	case r.bad:
		return false
	case c == closing:
		r.i++
		return false
	case n == 0:
		return true
	case c != ',':
		r.fail()
		return false
	}
	r.i++
	return true
}

// key reads an object key and its colon. Keys with escapes or non-ASCII
// bytes are not ours: the reader gives up on them.
func (r *reader) key() []byte {
	if r.peek() != '"' {
		r.fail()
		return nil
	}
	start := r.i + 1
	for j := start; j < len(r.p); j++ {
		c := r.p[j]
		if c == '"' {
			r.i = j + 1
			if r.peek() != ':' {
				r.fail()
				return nil
			}
			r.i++
			return r.p[start:j]
		}
		if c < 0x20 || c == '\\' || c >= utf8.RuneSelf {
			break
		}
	}
	r.fail()
	return nil
}

// once records in seen that the field of bit was read, failing on a second
// time: encoding/json would let the last one win, or merge them.
func (r *reader) once(seen *uint32, bit uint32) {
	if *seen&bit != 0 {
		r.fail()
	}
	*seen |= bit
}

// unknown skips the value of a key that is none of names. A key equal to
// one of them but for case is one encoding/json would take: the reader
// gives up on it.
func (r *reader) unknown(key []byte, names []string) {
	for _, n := range names {
		if bytes.EqualFold(key, []byte(n)) {
			r.fail()
			return
		}
	}
	r.skip(0)
}

// skip checks and skips one value of any type.
func (r *reader) skip(depth int) {
	switch c := r.peek(); {
	case r.bad:
	case c == '"':
		r.rawString()
	case c == '{' || c == '[':
		if depth >= maxSkipDepth {
			r.fail()
			return
		}
		closing := byte('}')
		if c == '[' {
			closing = ']'
		}
		r.i++
		for n := 0; r.more(closing, n); n++ {
			if c == '{' {
				r.rawString()
				if r.peek() != ':' {
					r.fail()
					return
				}
				r.i++
			}
			r.skip(depth + 1)
		}
	case c == 't':
		r.expect("true")
	case c == 'f':
		r.expect("false")
	case c == 'n':
		r.expect("null")
	default:
		r.number()
	}
}

func (r *reader) expect(word string) {
	if !r.literal(word) {
		r.fail()
	}
}

// number checks and skips a number of any form.
func (r *reader) number() {
	p, i := r.p, r.i
	digits := func() bool {
		start := i
		for i < len(p) && isDigit(p[i]) {
			i++
		}
		return i > start
	}
	if i < len(p) && p[i] == '-' {
		i++
	}
	switch {
	case i < len(p) && p[i] == '0':
		i++
	case !digits():
		r.fail()
		return
	}
	if i < len(p) && p[i] == '.' {
		i++
		if !digits() {
			r.fail()
			return
		}
	}
	if i < len(p) && (p[i] == 'e' || p[i] == 'E') {
		i++
		if i < len(p) && (p[i] == '+' || p[i] == '-') {
			i++
		}
		if !digits() {
			r.fail()
			return
		}
	}
	r.i = i
}

// rawString checks and skips a string, returning it with its quotes and
// escapes as they are. Like encoding/json it takes any byte from 0x20 up,
// valid UTF-8 or not.
func (r *reader) rawString() []byte {
	if r.peek() != '"' {
		r.fail()
		return nil
	}
	start := r.i
	for j := start + 1; j < len(r.p); j++ {
		switch c := r.p[j]; {
		case c == '"':
			r.i = j + 1
			return r.p[start:r.i]
		case c < 0x20:
			r.fail()
			return nil
		case c == '\\':
			j++
			if j >= len(r.p) {
				r.fail()
				return nil
			}
			switch r.p[j] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if _, ok := hex4(r.p[j+1:]); !ok {
					r.fail()
					return nil
				}
				j += 4
			default:
				r.fail()
				return nil
			}
		}
	}
	r.fail()
	return nil
}

// hex4 reads the four hex digits of a \u escape.
func hex4(p []byte) (rune, bool) {
	if len(p) < 4 {
		return 0, false
	}
	var v rune
	for _, c := range p[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		v = v<<4 | rune(c)
	}
	return v, true
}

// str reads a string value into dst.
func (r *reader) str(dst *string) {
	if r.null() || r.bad {
		return
	}
	if r.p[r.i] != '"' {
		r.fail()
		return
	}
	start := r.i + 1
	for j := start; j < len(r.p); j++ {
		c := r.p[j]
		switch {
		case c == '"':
			r.i = j + 1
			*dst = intern(r.p[start:j])
			return
		case c == '\\':
			r.i = j
			r.escaped(dst, r.p[start:j])
			return
		case c < 0x20:
			r.fail()
			return
		case c >= utf8.RuneSelf:
			size := runeSize(r.p[j:])
			if size == 0 {
				r.fail()
				return
			}
			j += size - 1
		}
	}
	r.fail()
}

// runeSize is the length of the UTF-8 character p starts with, or 0 if
// it is not valid: encoding/json would replace it by U+FFFD, so it is left
// to encoding/json.
func runeSize(p []byte) int {
	c, size := utf8.DecodeRune(p)
	if c == utf8.RuneError && size == 1 {
		return 0
	}
	return size
}

// escaped reads the rest of a string from its first backslash, head being
// what came before it.
func (r *reader) escaped(dst *string, head []byte) {
	b := append(r.buf[:0], head...)
	for j := r.i; j < len(r.p); j++ {
		c := r.p[j]
		switch {
		case c == '"':
			r.i = j + 1
			*dst = string(b)
			return
		case c < 0x20:
			r.fail()
			return
		case c >= utf8.RuneSelf:
			size := runeSize(r.p[j:])
			if size == 0 {
				r.fail()
				return
			}
			b = append(b, r.p[j:j+size]...)
			j += size - 1
		case c != '\\':
			b = append(b, c)
		case j+1 >= len(r.p):
			r.fail()
			return
		default:
			j++
			switch e := r.p[j]; e {
			case '"', '\\', '/':
				b = append(b, e)
			case 'b':
				b = append(b, '\b')
			case 'f':
				b = append(b, '\f')
			case 'n':
				b = append(b, '\n')
			case 'r':
				b = append(b, '\r')
			case 't':
				b = append(b, '\t')
			case 'u':
				u, ok := hex4(r.p[j+1:])
				if !ok || utf16Surrogate(u) {
					r.fail()
					return
				}
				b = utf8.AppendRune(b, u)
				j += 4
			default:
				r.fail()
				return
			}
		}
	}
	r.fail()
}

func utf16Surrogate(u rune) bool { return 0xd800 <= u && u < 0xe000 }

// integer reads an integer with neither fraction nor exponent, as its sign
// and magnitude.
func (r *reader) integer() (neg bool, u uint64) {
	p, i := r.p, r.i
	if i < len(p) && p[i] == '-' {
		neg = true
		i++
	}
	switch {
	case i >= len(p) || !isDigit(p[i]):
		r.fail()
		return
	case p[i] == '0':
		i++
	default:
		for i < len(p) && isDigit(p[i]) {
			d := uint64(p[i] - '0')
			if u > (math.MaxUint64-d)/10 {
				r.fail()
				return
			}
			u = u*10 + d
			i++
		}
	}
	if i < len(p) && (isDigit(p[i]) || p[i] == '.' || p[i] == 'e' || p[i] == 'E') {
		r.fail()
		return
	}
	r.i = i
	return neg, u
}

// int64 reads a signed integer into dst, failing outside [lo, hi].
func (r *reader) int64(dst *int64, lo, hi int64) {
	if r.null() || r.bad {
		return
	}
	neg, u := r.integer()
	var v int64
	switch {
	case r.bad:
		return
	case !neg && u <= uint64(hi):
		v = int64(u)
	case neg && u <= uint64(-(lo+1))+1:
		v = int64(-u)
	default:
		r.fail()
		return
	}
	*dst = v
}

// intField reads an int.
func (r *reader) intField(dst *int) {
	var v int64
	r.int64(&v, math.MinInt, math.MaxInt)
	if v != 0 {
		*dst = int(v)
	}
}

// uint32 reads an unsigned integer; a minus sign, even on 0, is an error
// for encoding/json.
func (r *reader) uint32(dst *uint32) {
	if r.null() || r.bad {
		return
	}
	if r.p[r.i] == '-' {
		r.fail()
		return
	}
	_, u := r.integer()
	if u > math.MaxUint32 {
		r.fail()
		return
	}
	if !r.bad {
		*dst = uint32(u)
	}
}

// bool reads true or false.
func (r *reader) bool(dst *bool) {
	switch c := r.peek(); {
	case c == 'n':
		r.expect("null")
	case c == 't' && r.literal("true"):
		*dst = true
	case c == 'f' && r.literal("false"):
		*dst = false
	default:
		r.fail()
	}
}

// time reads a time as encoding/json does: the whole token, quotes
// included, goes to time.Time's UnmarshalJSON.
func (r *reader) time(dst *time.Time) {
	if r.null() {
		return
	}
	tok := r.rawString()
	if r.bad {
		return
	}
	if err := dst.UnmarshalJSON(tok); err != nil {
		r.fail()
	}
}
