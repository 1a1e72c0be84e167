package maps

import (
	"bufio"
	"errors"
	"fmt"
	"io"
)

// lineReader reads the logical lines of a table source file, the way
// every Postfix table file is read:
//
//   - a line that starts with whitespace continues the logical line before
//     it; the continuation is appended as is, its leading whitespace
//     included ("first part" + "  continued" → "first part  continued");
//   - empty lines, whitespace-only lines and lines whose first
//     non-whitespace character is '#' are skipped and do not end a
//     logical line;
//   - a trailing "\r" is dropped, so files edited on other systems work.
//
// A logical line longer than MaxLineLength is an error naming the file
// and line: the table is refused rather than silently truncated.
type lineReader struct {
	sc      *bufio.Scanner
	file    string
	warn    func(string)
	lineno  int // physical lines consumed
	pending []byte
	pendNo  int
	hasPend bool
}

func newLineReader(r io.Reader, file string, warn func(string)) *lineReader {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), MaxLineLength+2)
	return &lineReader{sc: sc, file: file, warn: warn}
}

// physical returns the next physical line, or io.EOF.
func (r *lineReader) physical() ([]byte, int, error) {
	if r.hasPend {
		r.hasPend = false
		return r.pending, r.pendNo, nil
	}
	if !r.sc.Scan() {
		err := r.sc.Err()
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, 0, fmt.Errorf("%s, line %d: line too long (limit %d bytes)", r.file, r.lineno+1, MaxLineLength)
		}
		if err != nil {
			return nil, 0, fmt.Errorf("read %s: %w", r.file, err)
		}
		return nil, 0, io.EOF
	}
	r.lineno++
	b := r.sc.Bytes()
	if n := len(b); n > 0 && b[n-1] == '\r' {
		b = b[:n-1]
	}
	return b, r.lineno, nil
}

// next returns the next logical line and the number of its first
// physical line, or io.EOF after the last one.
func (r *lineReader) next() (string, int, error) {
	var buf []byte
	first := 0
	for {
		line, no, err := r.physical()
		if err == io.EOF {
			if first > 0 {
				return string(buf), first, nil
			}
			return "", 0, io.EOF
		}
		if err != nil {
			return "", 0, err
		}
		if isBlankOrComment(line) {
			continue
		}
		if isSpace(line[0]) {
			if first == 0 {
				if r.warn != nil {
					r.warn(fmt.Sprintf("%s, line %d: logical line must not start with whitespace: %q", r.file, no, clip(string(line), 40)))
				}
				continue
			}
			if len(buf)+len(line) > MaxLineLength {
				return "", 0, fmt.Errorf("%s, line %d: logical line too long (limit %d bytes)", r.file, first, MaxLineLength)
			}
			buf = append(buf, line...)
			continue
		}
		if first > 0 {
			// The start of the next logical line: keep it for the next
			// call. The scanner reuses its buffer, so copy it.
			r.pending = append(r.pending[:0], line...)
			r.pendNo = no
			r.hasPend = true
			return string(buf), first, nil
		}
		first = no
		buf = append(buf, line...)
	}
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

func isBlankOrComment(line []byte) bool {
	for _, c := range line {
		if isSpace(c) {
			continue
		}
		return c == '#'
	}
	return true
}

// trimSpace trims the whitespace isSpace knows from both ends of s.
func trimSpace(s string) string {
	i, j := 0, len(s)
	for i < j && isSpace(s[i]) {
		i++
	}
	for j > i && isSpace(s[j-1]) {
		j--
	}
	return s[i:j]
}

// clip shortens s for a warning.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
