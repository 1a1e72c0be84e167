package maps

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strings"
)

// cidrTable is cidr:FILE: "network/length result" and "address result"
// rules, IPv4 and IPv6, tried in order (the first match wins), with
// "if network/length" … "endif" blocks and '!' to negate a pattern. A
// key that is not an IP address finds nothing.
type cidrTable struct {
	spec, path string
	r          *reloader[[]cidrRule]
}

type cidrRule struct {
	kind    ruleKind
	prefix  netip.Prefix
	negate  bool
	end     int
	result  string
	pattern string
}

var (
	_ Table   = (*cidrTable)(nil)
	_ Pattern = (*cidrTable)(nil)
	_ Walker  = (*cidrTable)(nil)
	_ Source  = (*cidrTable)(nil)
)

func openCIDR(spec, _, name string, opt Options) (Table, error) {
	load := func(path string) ([]cidrRule, error) {
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", path, unwrapPath(err))
		}
		defer f.Close()
		return parseCIDRRules(f, path, func(msg string) { opt.warnf("%s", msg) })
	}
	r, err := newReloader(name, describe(spec), opt, load, nil)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", name, unwrapPath(err))
	}
	return &cidrTable{spec: spec, path: name, r: r}, nil
}

func (t *cidrTable) Name() string       { return t.spec }
func (t *cidrTable) SourceFile() string { return t.path }
func (t *cidrTable) IsPattern() bool    { return true }

func (t *cidrTable) Lookup(ctx context.Context, key string) (string, bool, error) {
	if err := ctx.Err(); err != nil {
		return "", false, err
	}
	addr, ok := parseIP(key)
	if !ok {
		return "", false, nil
	}
	rules := t.r.current().val
	for i := 0; i < len(rules); i++ {
		r := &rules[i]
		switch r.kind {
		case ruleIf:
			if r.prefix.Contains(addr) == r.negate {
				i = r.end
			}
		case ruleMatch:
			if r.prefix.Contains(addr) != r.negate {
				return r.result, true, nil
			}
		}
	}
	return "", false, nil
}

// Walk lists the rules as written.
func (t *cidrTable) Walk(ctx context.Context, fn func(key, value string) error) error {
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

// parseIP accepts "1.2.3.4", "2001:db8::1", "[2001:db8::1]" and drops an
// IPv6 zone; an IPv4-mapped IPv6 address is looked up as IPv4.
func parseIP(s string) (netip.Addr, bool) {
	s = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
	if strings.HasPrefix(strings.ToLower(s), "ipv6:") {
		s = s[5:]
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.WithZone("").Unmap(), true
}

func parseCIDRRules(rd io.Reader, file string, warn func(string)) ([]cidrRule, error) {
	lw := lineWarner{typ: "cidr", file: file, warn: warn}
	lr := newLineReader(rd, file, warn)
	var (
		rules []cidrRule
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
		if len(rules) >= MaxCIDRRules {
			return nil, fmt.Errorf("%s: more than %d rules", lw.where(no), MaxCIDRRules)
		}
		p := trimSpace(line)
		word, rest := keyword(p)
		switch word {
		case "if":
			pfx, negate, extra, ok := parseNet(rest, lw, no)
			if !ok {
				continue
			}
			if extra != "" {
				lw.at(no, "ignoring extra text after IF")
			}
			if err := nest.push(len(rules), no, lw.where(no)); err != nil {
				return nil, err
			}
			rules = append(rules, cidrRule{kind: ruleIf, prefix: pfx, negate: negate})
			continue
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
			rules = append(rules, cidrRule{kind: ruleEndif})
			continue
		}
		pfx, negate, result, ok := parseNet(p, lw, no)
		if !ok {
			continue
		}
		if result == "" {
			lw.at(no, "expected format: network/length whitespace result: skipping this rule")
			continue
		}
		pat := trimSpace(strings.TrimSuffix(p, result))
		rules = append(rules, cidrRule{kind: ruleMatch, prefix: pfx, negate: negate, result: result, pattern: pat})
	}
	for _, o := range nest.open {
		lw.at(o.line, "IF has no matching ENDIF")
		rules[o.index].end = len(rules)
	}
	return rules, nil
}

// parseNet reads "[!]address[/length]" from the start of s; rest is what
// follows, trimmed.
func parseNet(s string, lw lineWarner, no int) (pfx netip.Prefix, negate bool, rest string, ok bool) {
	for strings.HasPrefix(s, "!") {
		negate = !negate
		s = trimSpace(s[1:])
	}
	i := 0
	for i < len(s) && !isSpace(s[i]) {
		i++
	}
	pat, rest := s[:i], trimSpace(s[i:])
	if pat == "" {
		lw.at(no, "expected format: network/length whitespace result: skipping this rule")
		return pfx, false, "", false
	}
	addrText, lenText, hasLen := strings.Cut(pat, "/")
	addr, good := parseIP(addrText)
	if !good || strings.Contains(addrText, "%") {
		lw.at(no, "bad address pattern %q: skipping this rule", pat)
		return pfx, false, "", false
	}
	bits := addr.BitLen()
	if hasLen {
		n, err := parseLen(lenText, bits)
		if err != nil {
			lw.at(no, "bad net/mask pattern %q: %v: skipping this rule", pat, err)
			return pfx, false, "", false
		}
		bits = n
	}
	pfx = netip.PrefixFrom(addr, bits)
	if pfx.Masked().Addr() != addr {
		lw.at(no, "non-null host address bits in %q, skipping this rule", pat)
		return pfx, false, "", false
	}
	return pfx, negate, rest, true
}

func parseLen(s string, maxBits int) (int, error) {
	if s == "" || len(s) > 3 || strings.Trim(s, "0123456789") != "" {
		return 0, fmt.Errorf("bad prefix length %q", s)
	}
	n := atoiSmall(s)
	if n > maxBits {
		return 0, fmt.Errorf("prefix length %d is longer than %d", n, maxBits)
	}
	return n, nil
}
