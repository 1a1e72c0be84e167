package queue

import (
	"strings"
	"time"
)

// idDigits is the alphabet of the time part of a queue ID: digits and
// consonants, no vowels (so an ID never spells a word), in ASCII order so
// that IDs of the same length sort by arrival. The inode part uses the same
// alphabet without its last letter, 'z', which separates the two parts.
const idDigits = "0123456789BCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz"

const (
	idSep       = 'z'
	idSecLen    = 6 // 52^6 seconds reach the year 2594
	idUsecLen   = 4 // 52^4 > 1,000,000
	idTimeLen   = idSecLen + idUsecLen
	idInodeMax  = 5 // inode digits; with the 11-character prefix, IDs stay <= 16
	idMaxLen    = idTimeLen + 1 + idInodeMax
	inodeModulo = 51 * 51 * 51 * 51 * 51

	// maxHashDepth is the deepest hashing: one level per hex digit of
	// the microseconds printed as 5 hex digits.
	maxHashDepth = 5
)

// idValue maps an ID byte to its digit value, or -1.
var idValue = func() (v [256]int8) {
	for i := range v {
		v[i] = -1
	}
	for i := 0; i < len(idDigits); i++ {
		v[idDigits[i]] = int8(i)
	}
	return v
}()

// NewID returns the queue ID of a file created at t with inode number
// inode: six base-52 digits of seconds, four of microseconds, 'z', and the
// inode in base 51 (modulo 51^5, so the ID is at most 16 characters).
//
// Two files alive at once have different inodes, so IDs made in the same
// microsecond differ; the writer's no-replace rename catches the
// astronomically rare clash of a reduced inode.
func NewID(t time.Time, inode uint64) string {
	var b [idMaxLen]byte
	putDigits(b[:idSecLen], uint64(t.Unix()), 52)
	putDigits(b[idSecLen:idTimeLen], uint64(t.Nanosecond()/1000), 52)
	b[idTimeLen] = idSep
	inode %= inodeModulo
	n := 1
	for v := inode / 51; v > 0; v /= 51 {
		n++
	}
	putDigits(b[idTimeLen+1:idTimeLen+1+n], inode, 51)
	return string(b[:idTimeLen+1+n])
}

// putDigits writes v into b, most significant digit first, zero padded.
func putDigits(b []byte, v uint64, base uint64) {
	for i := len(b) - 1; i >= 0; i-- {
		b[i] = idDigits[v%base]
		v /= base
	}
}

// ValidID reports whether id is a well-formed queue ID. Only valid IDs are
// ever joined to a directory, so an ID from a user cannot name a path.
func ValidID(id string) bool {
	if len(id) < idTimeLen+2 || len(id) > idMaxLen || id[idTimeLen] != idSep {
		return false
	}
	for i := 0; i < len(id); i++ {
		if i == idTimeLen {
			continue
		}
		v := idValue[id[i]]
		if v < 0 || (i > idTimeLen && v >= 51) {
			return false
		}
	}
	_, ok := idUsec(id)
	return ok
}

// IDTime returns the time encoded in a queue ID: when its file was created.
func IDTime(id string) (time.Time, bool) {
	if !ValidID(id) {
		return time.Time{}, false
	}
	usec, _ := idUsec(id)
	return time.Unix(int64(digitsValue(id[:idSecLen], 52)), int64(usec)*1000), true
}

// idUsec decodes the microseconds of an ID whose characters are known to
// be digits.
func idUsec(id string) (uint64, bool) {
	usec := digitsValue(id[idSecLen:idTimeLen], 52)
	return usec, usec < 1000000
}

func digitsValue(s string, base uint64) uint64 {
	var v uint64
	for i := 0; i < len(s); i++ {
		v = v*base + uint64(idValue[s[i]])
	}
	return v
}

// hashDirs returns the hashed subdirectory path of a valid ID ("8" or
// "8/9" …): the first depth hex digits of its microseconds printed as
// five upper-case hex digits.
func hashDirs(id string, depth int) string {
	usec, _ := idUsec(id)
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < depth; i++ {
		if i > 0 {
			b.WriteByte('/')
		}
		shift := uint(4 * (maxHashDepth - 1 - i))
		b.WriteByte(hex[(usec>>shift)&0xF])
	}
	return b.String()
}
