package maps

import (
	"errors"
	"fmt"
	"io"
	"strings"
)

// ParseAliases reads an aliases(5) file and calls fn for every entry:
//
//   - "name: value, value, …"; the name ends at the first ':' outside
//     double quotes and is returned unquoted ("\"a b\": x" gives the key
//     a b); case folding is the builder's business;
//   - the value is normalised as postalias stores it: items separated by
//     ", ", whitespace runs outside quotes reduced to one space
//     ("alice," + "  bob" on a continuation line gives "alice, bob");
//   - comments, blank lines and continuation lines as for every table;
//   - a line without "name:" or without a value, or with a ',' before
//     the ':', warns "FILE, line N: need name:value pair"; a name with '@'
//     or '%' warns "FILE, line N: name must be local"; both are skipped.
func ParseAliases(r io.Reader, opt SourceOptions, fn func(Entry) error) error {
	lr := newLineReader(r, opt.File, opt.Warn)
	for {
		line, no, err := lr.next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		e, ok := parseAliasLine(line, no, opt)
		if !ok {
			continue
		}
		if err := fn(e); err != nil {
			return err
		}
	}
}

func parseAliasLine(line string, no int, opt SourceOptions) (Entry, bool) {
	colon, inQuotes := -1, false
	local := true
	for i := 0; i < len(line) && colon < 0; i++ {
		switch c := line[i]; {
		case c == '\\' && inQuotes:
			i++
		case c == '"':
			inQuotes = !inQuotes
		case inQuotes:
		case c == ':':
			colon = i
		case c == ',':
			opt.warnf("%s, line %d: need name:value pair", opt.File, no)
			return Entry{}, false
		case c == '@' || c == '%':
			local = false
		}
	}
	if colon < 0 {
		opt.warnf("%s, line %d: need name:value pair", opt.File, no)
		return Entry{}, false
	}
	key, err := unquoteWord(line[:colon])
	if err != nil || key == "" {
		opt.warnf("%s, line %d: need name:value pair", opt.File, no)
		return Entry{}, false
	}
	if !local {
		opt.warnf("%s, line %d: name must be local", opt.File, no)
		return Entry{}, false
	}
	items, err := splitAliasItems(line[colon+1:])
	if err != nil {
		opt.warnf("%s, line %d: %v: skipping this entry", opt.File, no, err)
		return Entry{}, false
	}
	if len(items) == 0 {
		opt.warnf("%s, line %d: need name:value pair", opt.File, no)
		return Entry{}, false
	}
	return Entry{Key: key, Value: strings.Join(items, ", "), Line: no}, true
}

// unquoteWord turns a name in external form ("a b", with quotes and
// backslash escapes) into internal form: quotes and escapes removed,
// whitespace outside quotes dropped.
func unquoteWord(s string) (string, error) {
	var b strings.Builder
	inQuotes := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"':
			inQuotes = !inQuotes
		case c == '\\' && i+1 < len(s):
			i++
			b.WriteByte(s[i])
		case isSpace(c) && !inQuotes:
		default:
			b.WriteByte(c)
		}
	}
	if inQuotes {
		return "", errors.New(`unbalanced '"'`)
	}
	return b.String(), nil
}

// splitAliasItems splits an alias value at commas outside quotes,
// comments and angle brackets, trims each item and reduces whitespace
// runs outside quotes to one space. Empty items are dropped.
func splitAliasItems(v string) ([]string, error) {
	if len(v) > MaxLineLength {
		return nil, fmt.Errorf("alias value longer than %d bytes", MaxLineLength)
	}
	var (
		items    []string
		cur      strings.Builder
		inQuotes bool
		paren    int
		angle    int
		space    bool
	)
	end := func() {
		if s := trimSpace(cur.String()); s != "" {
			items = append(items, s)
		}
		cur.Reset()
		space = false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if inQuotes {
			cur.WriteByte(c)
			switch c {
			case '\\':
				if i+1 < len(v) {
					i++
					cur.WriteByte(v[i])
				}
			case '"':
				inQuotes = false
			}
			continue
		}
		switch {
		case isSpace(c):
			space = true
			continue
		case c == ',' && paren == 0 && angle == 0:
			end()
			continue
		}
		if space && cur.Len() > 0 {
			cur.WriteByte(' ')
		}
		space = false
		switch c {
		case '"':
			inQuotes = true
		case '(':
			paren++
		case ')':
			if paren == 0 {
				return nil, errors.New("unbalanced ')'")
			}
			paren--
		case '<':
			angle++
		case '>':
			if angle == 0 {
				return nil, errors.New("unbalanced '>'")
			}
			angle--
		case '\\':
			if i+1 < len(v) {
				cur.WriteByte(c)
				i++
				c = v[i]
			}
		}
		cur.WriteByte(c)
	}
	switch {
	case inQuotes:
		return nil, errors.New(`unbalanced '"'`)
	case paren > 0:
		return nil, errors.New("unbalanced '('")
	case angle > 0:
		return nil, errors.New("unbalanced '<'")
	}
	end()
	return items, nil
}

// AliasKind says what an alias target is.
type AliasKind int

const (
	// AliasAddress is a mail address (resubmitted or delivered locally).
	AliasAddress AliasKind = iota
	// AliasFile is "/path": append the message to a file.
	AliasFile
	// AliasCommand is "|command args": pipe the message to a command.
	AliasCommand
	// AliasInclude is ":include:/path": read more targets from a file.
	AliasInclude
)

func (k AliasKind) String() string {
	switch k {
	case AliasFile:
		return "file"
	case AliasCommand:
		return "command"
	case AliasInclude:
		return "include"
	}
	return "address"
}

// AliasTarget is one item of an alias value. Value is the address (in
// internal, unquoted form), the file path, the command line (without the
// '|') or the include path.
type AliasTarget struct {
	Kind  AliasKind
	Value string
}

// ParseAliasValue splits the value of an alias (or a .forward line, or an
// :include: file's line) into targets, with the quoting rules of
// aliases(5):
//
//   - items are separated by commas outside double quotes, comments
//     "(…)" and angle brackets;
//   - "|command args" (quoted, so that commas and spaces stay) or
//     |command: a command; the quotes are removed;
//   - /path or "/path": a file;
//   - :include:/path or ":include:/path": an include file;
//   - anything else is an address: "Name <addr>" gives addr, comments
//     are dropped and quotes removed ("\"a b\"@example.com" gives
//     a b@example.com). A leading backslash ("\user", deliver to the
//     mailbox without alias expansion) is kept for the caller.
//
// Unbalanced quotes, parentheses or angle brackets, an empty command and
// an empty include path are errors.
func ParseAliasValue(v string) ([]AliasTarget, error) {
	items, err := splitAliasItems(v)
	if err != nil {
		return nil, err
	}
	out := make([]AliasTarget, 0, len(items))
	for _, it := range items {
		t, err := classifyAliasItem(it)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

func classifyAliasItem(it string) (AliasTarget, error) {
	s := it
	if whole, ok := wholeQuoted(s); ok {
		s = whole
	}
	switch {
	case strings.HasPrefix(s, "|"):
		cmd := trimSpace(s[1:])
		if q, ok := wholeQuoted(cmd); ok {
			cmd = trimSpace(q)
		}
		if cmd == "" {
			return AliasTarget{}, fmt.Errorf("empty command in %q", it)
		}
		return AliasTarget{Kind: AliasCommand, Value: cmd}, nil
	case strings.HasPrefix(s, "/"):
		return AliasTarget{Kind: AliasFile, Value: s}, nil
	case len(s) >= 9 && strings.EqualFold(s[:9], ":include:"):
		p := trimSpace(s[9:])
		if q, ok := wholeQuoted(p); ok {
			p = trimSpace(q)
		}
		if p == "" {
			return AliasTarget{}, fmt.Errorf("empty :include: path in %q", it)
		}
		return AliasTarget{Kind: AliasInclude, Value: p}, nil
	}
	a := s // a wholly quoted item: a quoted local part
	if s == it {
		a = internalAddress(it)
	}
	if a == "" {
		return AliasTarget{}, fmt.Errorf("empty address in %q", it)
	}
	return AliasTarget{Kind: AliasAddress, Value: a}, nil
}

// wholeQuoted returns the unescaped inside of s when s is one quoted
// string from end to end.
func wholeQuoted(s string) (string, bool) {
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return "", false
	}
	var b strings.Builder
	for i := 1; i < len(s)-1; i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s)-1:
			i++
			b.WriteByte(s[i])
		case c == '"':
			return "", false // a second quoted string: not one piece
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), true
}

// internalAddress takes the route address out of "Name <addr>", drops
// comments and removes quotes, keeping escaped characters.
func internalAddress(s string) string {
	if i := strings.LastIndexByte(s, '<'); i >= 0 {
		if j := strings.IndexByte(s[i:], '>'); j > 0 {
			s = s[i+1 : i+j]
		}
	}
	var b strings.Builder
	inQuotes, paren := false, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s) && (inQuotes || i > 0):
			i++
			b.WriteByte(s[i])
		case c == '"' && paren == 0:
			inQuotes = !inQuotes
		case inQuotes:
			b.WriteByte(c)
		case c == '(':
			paren++
		case c == ')' && paren > 0:
			paren--
		case paren > 0:
		case isSpace(c):
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
