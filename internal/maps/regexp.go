package maps

import (
	"context"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
)

// reTable is regexp:FILE or pcre:FILE. Both use Go's RE2 engine; see the
// package documentation for what differs from POSIX regex and PCRE.
type reTable struct {
	spec, typ, path string
	r               *reloader[[]reRule]
}

type reRule struct {
	kind    ruleKind
	re      *regexp.Regexp
	negate  bool
	end     int        // ruleIf: index of the matching endif
	tmpl    []tmplPart // ruleMatch: the result, parsed
	groups  bool       // the result refers to $n
	pattern string     // as written, for Walk
	result  string     // as written, for Walk
}

// tmplPart is literal text (group < 0) or a $n reference.
type tmplPart struct {
	lit   string
	group int
}

var (
	_ Table   = (*reTable)(nil)
	_ Pattern = (*reTable)(nil)
	_ Walker  = (*reTable)(nil)
	_ Source  = (*reTable)(nil)
)

func openRegexp(spec, typ, name string, opt Options) (Table, error) {
	t := &reTable{spec: spec, typ: typ, path: name}
	load := func(path string) ([]reRule, error) {
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", path, unwrapPath(err))
		}
		defer f.Close()
		return parseRegexpRules(f, typ, path, func(msg string) { opt.warnf("%s", msg) })
	}
	r, err := newReloader(name, describe(spec), opt, load, nil)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", name, unwrapPath(err))
	}
	t.r = r
	return t, nil
}

func (t *reTable) Name() string       { return t.spec }
func (t *reTable) SourceFile() string { return t.path }
func (t *reTable) IsPattern() bool    { return true }

func (t *reTable) Lookup(ctx context.Context, key string) (string, bool, error) {
	if err := ctx.Err(); err != nil {
		return "", false, err
	}
	v, ok := matchRules(t.r.current().val, key)
	return v, ok, nil
}

// Walk lists the match rules as written: pattern (with '!' and flags)
// and result. Postfix cannot list a regexp table; this is for review.
func (t *reTable) Walk(ctx context.Context, fn func(key, value string) error) error {
	for _, r := range t.r.current().val {
		if r.kind != ruleMatch {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(r.pattern, r.result); err != nil {
			return err
		}
	}
	return nil
}

func matchRules(rules []reRule, key string) (string, bool) {
	for i := 0; i < len(rules); i++ {
		r := &rules[i]
		switch r.kind {
		case ruleIf:
			if r.re.MatchString(key) == r.negate {
				i = r.end // skip the block; the loop steps past the endif
			}
		case ruleMatch:
			if r.negate {
				if !r.re.MatchString(key) {
					return expand(r.tmpl, key, nil), true
				}
				continue
			}
			if !r.groups {
				if r.re.MatchString(key) {
					return expand(r.tmpl, key, nil), true
				}
				continue
			}
			if m := r.re.FindStringSubmatchIndex(key); m != nil {
				return expand(r.tmpl, key, m), true
			}
		}
	}
	return "", false
}

func expand(tmpl []tmplPart, key string, m []int) string {
	if len(tmpl) == 1 && tmpl[0].group < 0 {
		return tmpl[0].lit
	}
	var b strings.Builder
	for _, p := range tmpl {
		if p.group < 0 {
			b.WriteString(p.lit)
			continue
		}
		if i := 2 * p.group; i+1 < len(m) && m[i] >= 0 {
			b.WriteString(key[m[i]:m[i+1]])
		}
	}
	return b.String()
}

// parseRegexpRules reads a regexp: or pcre: file (typ says which).
func parseRegexpRules(rd io.Reader, typ, file string, warn func(string)) ([]reRule, error) {
	lw := lineWarner{typ: typ, file: file, warn: warn}
	lr := newLineReader(rd, file, warn)
	var (
		rules []reRule
		nest  nesting
	)
	for {
		line, no, err := lr.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if len(rules) >= MaxPatternRules {
			return nil, fmt.Errorf("%s: more than %d rules", lw.where(no), MaxPatternRules)
		}
		p := trimSpace(line)
		if isAlnum(p[0]) {
			word, rest := keyword(p)
			switch word {
			case "if":
				re, negate, extra, ok := parsePattern(rest, typ, lw, no)
				if !ok {
					continue
				}
				if extra != "" {
					lw.at(no, "ignoring extra text after IF")
				}
				if err := nest.push(len(rules), no, lw.where(no)); err != nil {
					return nil, err
				}
				rules = append(rules, reRule{kind: ruleIf, re: re, negate: negate, pattern: p})
			case "endif":
				if rest != "" {
					lw.at(no, "ignoring extra text after ENDIF")
				}
				o, ok := nest.pop()
				if !ok {
					lw.at(no, "ignoring ENDIF without matching IF")
					continue
				}
				rules[o.index].end = len(rules)
				rules = append(rules, reRule{kind: ruleEndif})
			default:
				lw.at(no, "unknown command %q: skipping this rule", word)
			}
			continue
		}
		re, negate, result, ok := parsePattern(p, typ, lw, no)
		if !ok {
			continue
		}
		if result == "" {
			lw.at(no, "no replacement text: using empty string")
		}
		tmpl, maxGroup, err := parseTemplate(result)
		if err != nil {
			lw.at(no, "%v: skipping this rule", err)
			continue
		}
		if maxGroup > re.NumSubexp() {
			lw.at(no, "out of range replacement index \"%d\": skipping this rule", maxGroup)
			continue
		}
		groups := false
		for _, t := range tmpl {
			groups = groups || t.group >= 0
		}
		if groups && negate {
			lw.at(no, "$number in the result of a negated pattern: skipping this rule")
			continue
		}
		pat := trimSpace(strings.TrimSuffix(p, result))
		rules = append(rules, reRule{kind: ruleMatch, re: re, negate: negate, tmpl: tmpl, groups: groups, pattern: pat, result: result})
	}
	for _, o := range nest.open {
		lw.at(o.line, "IF has no matching ENDIF")
		rules[o.index].end = len(rules)
	}
	return rules, nil
}

// parsePattern reads "[!...]/pattern/flags" from the start of s and
// compiles it; rest is what follows, trimmed. ok is false (after a
// warning) when the rule is to be skipped.
func parsePattern(s, typ string, lw lineWarner, no int) (re *regexp.Regexp, negate bool, rest string, ok bool) {
	for strings.HasPrefix(s, "!") {
		negate = !negate
		s = trimSpace(s[1:])
	}
	if s == "" {
		lw.at(no, "no regexp pattern: skipping this rule")
		return nil, false, "", false
	}
	delim := s[0]
	end := -1
	for i := 1; i < len(s); i++ {
		if s[i] == '\\' {
			i++
			continue
		}
		if s[i] == delim {
			end = i
			break
		}
	}
	if end < 0 {
		lw.at(no, "no closing regexp delimiter \"%c\": skipping this rule", delim)
		return nil, false, "", false
	}
	body := s[1:end]
	i := end + 1
	for i < len(s) && !isSpace(s[i]) {
		i++
	}
	flags, rest := s[end+1:i], trimSpace(s[i:])
	expr, err := goPattern(body, flags, typ)
	if err != nil {
		lw.at(no, "%v: skipping this rule", err)
		return nil, false, "", false
	}
	re, err = regexp.Compile(expr)
	if err != nil {
		lw.at(no, "%v: skipping this rule", err)
		return nil, false, "", false
	}
	if typ == "regexp" {
		re.Longest() // POSIX: the leftmost-longest match decides $n
	}
	return re, negate, rest, true
}

// goPattern turns a Postfix pattern and its flags into RE2 syntax.
//
// regexp: (POSIX extended): case-insensitive by default ('i' toggles);
// '.' matches a newline and '^'/'$' match only at the ends, unless 'm'
// (REG_NEWLINE) is toggled on; 'x' would switch to basic syntax, which
// RE2 does not have.
//
// pcre: case-insensitive by default ('i' toggles); 'm' multi-line, 's'
// dot-all, 'x' extended (whitespace and #-comments dropped), 'A'
// anchored at the start, 'U' ungreedy; 'E' and 'X' change nothing here
// ('$' already matches only at the very end, unknown escapes are already
// errors).
func goPattern(body, flags, typ string) (string, error) {
	icase := true
	var multi, dotall, ungreedy, extended, anchored bool
	for i := 0; i < len(flags); i++ {
		c := flags[i]
		switch {
		case c == 'i':
			icase = !icase
		case c == 'm':
			multi = !multi
		case typ == "regexp" && c == 'x':
			return "", fmt.Errorf("basic regular expression syntax (flag \"x\") is not supported")
		case typ == "pcre" && c == 's':
			dotall = !dotall
		case typ == "pcre" && c == 'x':
			extended = !extended
		case typ == "pcre" && c == 'A':
			anchored = true
		case typ == "pcre" && c == 'U':
			ungreedy = !ungreedy
		case typ == "pcre" && (c == 'E' || c == 'X'):
		default:
			return "", fmt.Errorf("unknown regexp option \"%c\"", c)
		}
	}
	if typ == "regexp" && !multi {
		dotall = true
	}
	if extended {
		body = stripExtended(body)
	}
	if anchored {
		body = `\A(?:` + body + `)`
	}
	var f strings.Builder
	for _, x := range []struct {
		on bool
		c  byte
	}{{icase, 'i'}, {multi, 'm'}, {dotall, 's'}, {ungreedy, 'U'}} {
		if x.on {
			f.WriteByte(x.c)
		}
	}
	if f.Len() == 0 {
		return body, nil
	}
	return "(?" + f.String() + ")" + body, nil
}

// stripExtended applies PCRE's extended mode: whitespace outside
// character classes is dropped, and so is '#' up to the end of the line;
// escaped characters are kept.
func stripExtended(s string) string {
	var b strings.Builder
	inClass := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s):
			b.WriteByte(c)
			b.WriteByte(s[i+1])
			i++
		case inClass:
			if c == ']' {
				inClass = false
			}
			b.WriteByte(c)
		case c == '[':
			inClass = true
			b.WriteByte(c)
			if i+1 < len(s) && s[i+1] == ']' { // "[]...]": ']' first is literal
				b.WriteByte(']')
				i++
			}
		case isSpace(c):
		case c == '#':
			for i < len(s) && s[i] != '\n' {
				i++
			}
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// parseTemplate parses a result with $1, ${1}, $(1) and $$. Any other
// '$' is kept as it is. maxGroup is the highest group referred to.
func parseTemplate(s string) (parts []tmplPart, maxGroup int, err error) {
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			parts = append(parts, tmplPart{lit: lit.String(), group: -1})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '$' || i+1 >= len(s) {
			lit.WriteByte(c)
			continue
		}
		next := s[i+1]
		switch {
		case next == '$':
			lit.WriteByte('$')
			i++
		case isDigit(next):
			j := i + 1
			for j < len(s) && isDigit(s[j]) && j-i <= 3 {
				j++
			}
			n := atoiSmall(s[i+1 : j])
			flush()
			parts = append(parts, tmplPart{group: n})
			maxGroup = max(maxGroup, n)
			i = j - 1
		case next == '{' || next == '(':
			closer := byte('}')
			if next == '(' {
				closer = ')'
			}
			j := strings.IndexByte(s[i+2:], closer)
			if j < 0 {
				return nil, 0, fmt.Errorf("missing %q in %q", closer, s)
			}
			name := s[i+2 : i+2+j]
			if name == "" || len(name) > 3 || strings.Trim(name, "0123456789") != "" {
				return nil, 0, fmt.Errorf("unknown substitution \"$%c%s%c\" (only $number)", next, name, closer)
			}
			n := atoiSmall(name)
			flush()
			parts = append(parts, tmplPart{group: n})
			maxGroup = max(maxGroup, n)
			i += 2 + j
		default:
			lit.WriteByte(c)
		}
	}
	flush()
	if len(parts) == 0 {
		parts = []tmplPart{{group: -1}}
	}
	return parts, maxGroup, nil
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// atoiSmall converts at most a few digits; callers bound the length.
func atoiSmall(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}
