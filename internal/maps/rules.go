package maps

import (
	"fmt"
	"strings"
)

// Shared parts of the rule tables (regexp:, pcre:, cidr:): the if/endif
// nesting and the messages. Such a file is a list of rules tried in
// order; "if PATTERN" … "endif" brackets rules that are tried only when
// PATTERN matches. A bad rule is reported with its file and line and
// skipped, as Postfix does; only a file that cannot be read, a line over
// MaxLineLength, too many rules or too deep a nesting refuse the table.

type ruleKind uint8

const (
	ruleMatch ruleKind = iota
	ruleIf
	ruleEndif
)

// nesting tracks the open "if" rules while a file is parsed.
type nesting struct {
	open []openIf
}

type openIf struct {
	index, line int
}

// push records an "if" at rule index i; too deep a nesting is an error.
func (n *nesting) push(i, line int, where string) error {
	if len(n.open) >= MaxNesting {
		return fmt.Errorf("%s: if/endif nested deeper than %d", where, MaxNesting)
	}
	n.open = append(n.open, openIf{i, line})
	return nil
}

// pop returns the innermost open "if"; ok is false when there is none.
func (n *nesting) pop() (openIf, bool) {
	if len(n.open) == 0 {
		return openIf{}, false
	}
	o := n.open[len(n.open)-1]
	n.open = n.open[:len(n.open)-1]
	return o, true
}

// keyword splits a leading alphanumeric word off a rule line; rule
// patterns never start with one, so a word is a command (if, endif).
func keyword(line string) (word, rest string) {
	i := 0
	for i < len(line) && isAlnum(line[i]) {
		i++
	}
	return strings.ToLower(line[:i]), trimSpace(line[i:])
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// lineWarner prefixes warnings with "TYPE map FILE, line N: ", the form
// Postfix uses for regexp, pcre and cidr tables.
type lineWarner struct {
	typ, file string
	warn      func(string)
}

func (w lineWarner) at(line int, format string, args ...any) {
	if w.warn != nil {
		w.warn(fmt.Sprintf("%s map %s, line %d: ", w.typ, w.file, line) + fmt.Sprintf(format, args...))
	}
}

func (w lineWarner) where(line int) string {
	return fmt.Sprintf("%s map %s, line %d", w.typ, w.file, line)
}
