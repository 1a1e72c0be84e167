package maps

import (
	"fmt"
	"io"
	"unicode/utf8"
)

// Entry is one key/value pair read from a table source, with the number
// of the (first) line it came from.
type Entry struct {
	Key, Value string
	Line       int
}

// SourceOptions say how to read a table source.
type SourceOptions struct {
	// File names the source in messages ("stdin" for postmap -i).
	File string
	// CheckUTF8 skips, with a warning, lines that are not valid UTF-8
	// (smtputf8_enable = yes, the default; postmap -u turns it off).
	CheckUTF8 bool
	// Warn receives warnings about skipped lines, without the
	// "warning: " prefix. Nil drops them.
	Warn func(msg string)
}

func (o SourceOptions) warnf(format string, args ...any) {
	if o.Warn != nil {
		o.Warn(fmt.Sprintf(format, args...))
	}
}

// ParseSource reads a lookup table source in postmap(1) format and calls
// fn for every entry, in file order:
//
//   - an entry is "key whitespace value"; the key ends at the first
//     whitespace outside double quotes, a backslash escapes the next
//     character, and the key is kept as written, quotes included, as
//     Postfix does; surrounding whitespace is trimmed from the value;
//   - comments, blank lines and continuation lines as described for
//     logical lines (see the package documentation);
//   - a line without a key or a value gives the warning
//     "FILE, line N: expected format: key whitespace value" and is
//     skipped; so is a line with an unbalanced '"'.
//
// Case folding and duplicate keys are the caller's business (see
// Builder). ParseSource returns the first error fn returns, or an error
// for a line longer than MaxLineLength or a failing reader.
func ParseSource(r io.Reader, opt SourceOptions, fn func(Entry) error) error {
	lr := newLineReader(r, opt.File, opt.Warn)
	for {
		line, no, err := lr.next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		e, ok := parseSourceLine(line, no, opt)
		if !ok {
			continue
		}
		if err := fn(e); err != nil {
			return err
		}
	}
}

// parseSourceLine splits one logical line into key and value; ok is false
// (after a warning) when the line is to be skipped.
func parseSourceLine(line string, no int, opt SourceOptions) (Entry, bool) {
	if opt.CheckUTF8 && !utf8.ValidString(line) {
		opt.warnf("%s, line %d: non-UTF-8 input %q -- ignoring this line", opt.File, no, clip(line, 60))
		return Entry{}, false
	}
	end, inQuotes := keyEnd(line)
	if inQuotes {
		opt.warnf("%s, line %d: unbalanced '\"' in '%s' -- ignoring this line", opt.File, no, clip(line, 60))
		return Entry{}, false
	}
	key := line[:end]
	value := trimSpace(line[end:])
	if key == "" || value == "" {
		opt.warnf("%s, line %d: expected format: key whitespace value", opt.File, no)
		return Entry{}, false
	}
	if key[len(key)-1] == ':' {
		opt.warnf("%s, line %d: record is in \"key: value\" format; is this an alias file?", opt.File, no)
	}
	return Entry{Key: key, Value: value, Line: no}, true
}

// keyEnd finds the end of the key: the first whitespace outside double
// quotes, skipping backslash-escaped characters.
func keyEnd(line string) (end int, inQuotes bool) {
	for i := 0; i < len(line); i++ {
		switch c := line[i]; {
		case c == '\\':
			i++
			if i >= len(line) {
				return len(line), inQuotes
			}
		case c == '"':
			inQuotes = !inQuotes
		case isSpace(c) && !inQuotes:
			return i, false
		}
	}
	return len(line), inQuotes
}
