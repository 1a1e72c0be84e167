package config

// Expansion of $name references, as Postfix's main.cf does it.
//
// A value is parsed into a small tree first, so that a syntax error in a
// branch that is not taken today is still reported when main.cf is loaded,
// and then evaluated lazily against a Config. The forms are:
//
//	$name ${name} $(name)              the value of name, itself expanded
//	${name?value} ${name?{value}}      value when name is not empty
//	${name:value} ${name:{value}}      value when name is empty
//	${name?{v1}:{v2}}                  v1 when name is not empty, else v2
//	${{a} OP {b} ? {v1} : {v2}}        OP one of == != < <= >= >, compared
//	                                   as numbers when both sides are all
//	                                   digits; OPlevel compares
//	                                   compatibility levels such as 3.6
//	$$                                 a literal $
//
// The emptiness test of ${name?…} and ${name:…} looks at the value as
// written, without expanding it, as Postfix does. An undefined name expands
// to nothing.

import (
	"errors"
	"fmt"
	"strings"
)

// Limits on one expansion. A value from outside must not make a daemon
// spin or grow without bound.
const (
	maxNesting   = 100     // parameter references inside references
	maxExpansion = 4 << 20 // bytes of expanded text
	maxSteps     = 100000  // references and comparisons evaluated
)

type nodeKind uint8

const (
	nodeText nodeKind = iota // literal text
	nodeRef                  // $name and its conditional forms
	nodeRel                  // ${{a} OP {b} ? … : …}
)

// node is one piece of a parsed value.
type node struct {
	kind nodeKind
	text string // nodeText: the text; nodeRef: the parameter name

	// nodeRef: cond is 0 for a plain reference, '?' or ':' for the
	// conditional forms.
	cond byte
	// nodeRel: the operator ("==", "<level", …) and its operands.
	op          string
	left, right []node
	// ifTrue is used when the condition holds (name not empty for '?',
	// name empty for ':', the comparison true for nodeRel), ifFalse
	// otherwise.
	ifTrue, ifFalse []node
}

// syntaxError is a malformed value. The text is what Postern says about it.
type syntaxError struct{ msg string }

func (e *syntaxError) Error() string { return e.msg }

func syntaxErr(format string, args ...any) error {
	return &syntaxError{msg: fmt.Sprintf(format, args...)}
}

// excerpt quotes s for an error message, shortened when long.
func excerpt(s string) string {
	const max = 60
	if len(s) > max {
		s = s[:max] + "..."
	}
	return fmt.Sprintf("%q", s)
}

func isNameChar(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

func trimLeftSpace(s string) string {
	for len(s) > 0 && isSpace(s[0]) {
		s = s[1:]
	}
	return s
}

// matching returns the index of the bracket that closes the one at s[open],
// counting nested brackets of the same kind, or -1.
func matching(s string, open int) int {
	o := s[open]
	c := byte('}')
	if o == '(' {
		c = ')'
	}
	depth := 0
	for i := open; i < len(s); i++ {
		switch s[i] {
		case o:
			depth++
		case c:
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}

// parseValue parses a parameter value into nodes.
func parseValue(s string) ([]node, error) {
	return parseDepth(s, 0)
}

func parseDepth(s string, depth int) ([]node, error) {
	if depth > maxNesting {
		return nil, syntaxErr("references nested more than %d deep in %s", maxNesting, excerpt(s))
	}
	var out []node
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			out = append(out, node{kind: nodeText, text: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); {
		j := strings.IndexByte(s[i:], '$')
		if j < 0 {
			lit.WriteString(s[i:])
			break
		}
		lit.WriteString(s[i : i+j])
		i += j
		if i+1 >= len(s) {
			return nil, syntaxErr(`"$" at the end of %s (write "$$" for a literal "$")`, excerpt(s))
		}
		switch d := s[i+1]; {
		case d == '$':
			lit.WriteByte('$')
			i += 2
		case d == '{' || d == '(':
			end := matching(s, i+1)
			if end < 0 {
				closer := "}"
				if d == '(' {
					closer = ")"
				}
				return nil, syntaxErr(`unterminated "$%c": missing %q in %s`, d, closer, excerpt(s[i:]))
			}
			n, err := parseRef(s[i+2:end], s[i:end+1], depth)
			if err != nil {
				return nil, err
			}
			flush()
			out = append(out, n)
			i = end + 1
		case isNameChar(d):
			k := i + 1
			for k < len(s) && isNameChar(s[k]) {
				k++
			}
			flush()
			out = append(out, node{kind: nodeRef, text: s[i+1 : k]})
			i = k
		default:
			return nil, syntaxErr(`"$" not followed by a parameter name in %s (write "$$" for a literal "$")`, excerpt(s[i:]))
		}
	}
	flush()
	return out, nil
}

// parseRef parses the inside of ${…} or $(…); whole is the reference with
// its brackets, for messages.
func parseRef(inner, whole string, depth int) (node, error) {
	t := trimLeftSpace(inner)
	if strings.HasPrefix(t, "{") {
		return parseRel(t, whole, depth)
	}
	k := 0
	for k < len(t) && isNameChar(t[k]) {
		k++
	}
	if k == 0 {
		return node{}, syntaxErr("missing parameter name in %s", excerpt(whole))
	}
	n := node{kind: nodeRef, text: t[:k]}
	rest := trimLeftSpace(t[k:])
	if rest == "" {
		return n, nil
	}
	if rest[0] != '?' && rest[0] != ':' {
		return node{}, syntaxErr(`unexpected %s after the parameter name in %s (expected "?" or ":")`, excerpt(rest), excerpt(whole))
	}
	n.cond = rest[0]
	var err error
	n.ifTrue, n.ifFalse, err = parseBranches(rest[1:], whole, n.cond == '?', depth)
	return n, err
}

// parseBranches parses what follows "?" or ":": either {v1} (optionally
// followed by :{v2} when withElse) or plain text up to the end.
func parseBranches(s, whole string, withElse bool, depth int) (first, second []node, err error) {
	t := trimLeftSpace(s)
	if !strings.HasPrefix(t, "{") {
		first, err = parseDepth(s, depth+1)
		return first, nil, err
	}
	end := matching(t, 0)
	if end < 0 {
		return nil, nil, syntaxErr(`unterminated "{" in %s`, excerpt(whole))
	}
	if first, err = parseDepth(t[1:end], depth+1); err != nil {
		return nil, nil, err
	}
	rest := trimLeftSpace(t[end+1:])
	if rest == "" {
		return first, nil, nil
	}
	if !withElse || rest[0] != ':' {
		if withElse {
			return nil, nil, syntaxErr(`":" expected before %s in %s`, excerpt(rest), excerpt(whole))
		}
		return nil, nil, syntaxErr("unexpected %s in %s", excerpt(rest), excerpt(whole))
	}
	r := trimLeftSpace(rest[1:])
	if !strings.HasPrefix(r, "{") {
		return nil, nil, syntaxErr(`"{" expected after ":" in %s`, excerpt(whole))
	}
	end = matching(r, 0)
	if end < 0 {
		return nil, nil, syntaxErr(`unterminated "{" in %s`, excerpt(whole))
	}
	if second, err = parseDepth(r[1:end], depth+1); err != nil {
		return nil, nil, err
	}
	if tail := trimLeftSpace(r[end+1:]); tail != "" {
		return nil, nil, syntaxErr("unexpected %s in %s", excerpt(tail), excerpt(whole))
	}
	return first, second, nil
}

var relOps = []string{"==", "!=", "<=", ">=", "<", ">"}

// parseRel parses {a} OP {b} ? {v1} : {v2}.
func parseRel(t, whole string, depth int) (node, error) {
	n := node{kind: nodeRel}
	end := matching(t, 0)
	if end < 0 {
		return node{}, syntaxErr(`unterminated "{" in %s`, excerpt(whole))
	}
	var err error
	if n.left, err = parseDepth(t[1:end], depth+1); err != nil {
		return node{}, err
	}
	r := trimLeftSpace(t[end+1:])
	for _, op := range relOps {
		if strings.HasPrefix(r, op) {
			n.op = op
			break
		}
	}
	if n.op == "" {
		return node{}, syntaxErr("comparison operator (== != < <= >= >) expected at %s in %s", excerpt(r), excerpt(whole))
	}
	r = r[len(n.op):]
	if strings.HasPrefix(r, "level") {
		n.op += "level"
		r = r[len("level"):]
	}
	r = trimLeftSpace(r)
	if !strings.HasPrefix(r, "{") {
		return node{}, syntaxErr(`"{operand}" expected after %q in %s`, n.op, excerpt(whole))
	}
	end = matching(r, 0)
	if end < 0 {
		return node{}, syntaxErr(`unterminated "{" in %s`, excerpt(whole))
	}
	if n.right, err = parseDepth(r[1:end], depth+1); err != nil {
		return node{}, err
	}
	r = trimLeftSpace(r[end+1:])
	switch {
	case r == "":
	case r[0] == '?':
		n.ifTrue, n.ifFalse, err = parseBranches(r[1:], whole, true, depth)
	case r[0] == ':':
		n.ifFalse, _, err = parseBranches(r[1:], whole, false, depth)
	default:
		err = syntaxErr(`"?" or ":" expected at %s in %s`, excerpt(r), excerpt(whole))
	}
	return n, err
}

// refs calls f with every parameter name the nodes refer to, in every
// branch.
func refs(nodes []node, f func(string)) {
	for i := range nodes {
		n := &nodes[i]
		if n.kind == nodeRef {
			f(n.text)
		}
		refs(n.left, f)
		refs(n.right, f)
		refs(n.ifTrue, f)
		refs(n.ifFalse, f)
	}
}

// errLimit marks an expansion stopped by one of the limits above.
var errLimit = errors.New("expansion limit")

// expander evaluates parsed values against a Config, tracking the chain of
// parameters being expanded to find loops.
type expander struct {
	c     *Config
	stack []string
	steps int
	size  int
	// vars are looked up before c's parameters; with vars set (ExpandWith)
	// the raw parameters are expanded too.
	vars map[string]string
}

// name expands the value of parameter name.
func (e *expander) name(name string) (string, error) {
	for _, s := range e.stack {
		if s == name {
			return "", fmt.Errorf("parameter reference loop: %s -> %s", strings.Join(e.stack, " -> "), name)
		}
	}
	if len(e.stack) >= maxNesting {
		return "", fmt.Errorf("parameter references nested more than %d deep: %s", maxNesting, strings.Join(e.stack, " -> "))
	}
	e.stack = append(e.stack, name)
	defer func() { e.stack = e.stack[:len(e.stack)-1] }()
	raw, err := e.c.rawValue(e, name)
	if err != nil {
		return "", err
	}
	if rawParams[name] && e.vars == nil {
		return raw, e.grow(len(raw))
	}
	return e.text(raw, name)
}

// text expands s; owner names the parameter s belongs to ("" for free
// text), for messages.
func (e *expander) text(s, owner string) (string, error) {
	if !strings.Contains(s, "$") {
		return s, e.grow(len(s))
	}
	nodes, err := parseValue(s)
	if err != nil {
		if owner != "" {
			return "", fmt.Errorf("%s: %w", owner, err)
		}
		return "", err
	}
	var b strings.Builder
	if err := e.eval(nodes, &b); err != nil {
		return "", err
	}
	return b.String(), nil
}

func (e *expander) grow(n int) error {
	e.size += n
	if e.size > maxExpansion {
		return fmt.Errorf("expansion is longer than %d bytes: %w", maxExpansion, errLimit)
	}
	return nil
}

func (e *expander) step() error {
	e.steps++
	if e.steps > maxSteps {
		return fmt.Errorf("expansion needs more than %d steps: %w", maxSteps, errLimit)
	}
	return nil
}

func (e *expander) eval(nodes []node, b *strings.Builder) error {
	for i := range nodes {
		n := &nodes[i]
		switch n.kind {
		case nodeText:
			if err := e.grow(len(n.text)); err != nil {
				return err
			}
			b.WriteString(n.text)
		case nodeRef:
			if err := e.step(); err != nil {
				return err
			}
			if n.cond == 0 {
				v, err := e.name(n.text)
				if err != nil {
					return err
				}
				b.WriteString(v)
				continue
			}
			raw, err := e.c.rawValue(e, n.text)
			if err != nil {
				return err
			}
			branch := n.ifFalse
			if (raw != "") == (n.cond == '?') {
				branch = n.ifTrue
			}
			if err := e.eval(branch, b); err != nil {
				return err
			}
		case nodeRel:
			if err := e.step(); err != nil {
				return err
			}
			ok, err := e.compare(n)
			if err != nil {
				return err
			}
			branch := n.ifFalse
			if ok {
				branch = n.ifTrue
			}
			if err := e.eval(branch, b); err != nil {
				return err
			}
		}
	}
	return nil
}

func (e *expander) operand(nodes []node) (string, error) {
	var b strings.Builder
	err := e.eval(nodes, &b)
	return b.String(), err
}

func (e *expander) compare(n *node) (bool, error) {
	a, err := e.operand(n.left)
	if err != nil {
		return false, err
	}
	b, err := e.operand(n.right)
	if err != nil {
		return false, err
	}
	op, level := strings.CutSuffix(n.op, "level")
	var cmp int
	if level {
		la, err := parseLevel(a)
		if err != nil {
			return false, err
		}
		lb, err := parseLevel(b)
		if err != nil {
			return false, err
		}
		cmp = compareLevels(la, lb)
	} else if allDigits(a) && allDigits(b) {
		cmp = compareNumbers(a, b)
	} else {
		cmp = strings.Compare(a, b)
	}
	switch op {
	case "==":
		return cmp == 0, nil
	case "!=":
		return cmp != 0, nil
	case "<":
		return cmp < 0, nil
	case "<=":
		return cmp <= 0, nil
	case ">=":
		return cmp >= 0, nil
	default:
		return cmp > 0, nil
	}
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// compareNumbers compares two digit strings of any length as numbers.
func compareNumbers(a, b string) int {
	a = strings.TrimLeft(a, "0")
	b = strings.TrimLeft(b, "0")
	if len(a) != len(b) {
		if len(a) < len(b) {
			return -1
		}
		return 1
	}
	return strings.Compare(a, b)
}

// parseLevel reads a compatibility level: major[.minor[.patch]].
func parseLevel(s string) ([3]int, error) {
	var l [3]int
	parts := strings.Split(s, ".")
	if len(parts) > 3 {
		return l, fmt.Errorf("malformed compatibility level %q (want major[.minor[.patch]])", s)
	}
	for i, p := range parts {
		if !allDigits(p) || len(p) > 9 {
			return l, fmt.Errorf("malformed compatibility level %q (want major[.minor[.patch]])", s)
		}
		for _, c := range []byte(p) {
			l[i] = l[i]*10 + int(c-'0')
		}
	}
	return l, nil
}

func compareLevels(a, b [3]int) int {
	for i := range a {
		if a[i] != b[i] {
			if a[i] < b[i] {
				return -1
			}
			return 1
		}
	}
	return 0
}
