package cleanup

import "strings"

// addrRef is one address found in a header value or a table result: the
// address itself, with whitespace and comments between its tokens taken
// out, and where its text lies in the value (start == end for "<>").
type addrRef struct {
	start, end int
	addr       string
}

// scanAddrs finds the addresses of an RFC 5322 address list: mailboxes
// ("Name <a@b>", "a@b (comment)"), groups ("team: a@b, c@d;"), and the
// sloppy forms mail programs write. It never fails: text it cannot make
// sense of yields no address or an address as written. At most limit
// addresses are returned.
//
// The rewriting code replaces only the bytes of an address it changes, so
// everything else in a header (display names, comments, folding) stays
// byte for byte as the sender wrote it.
func scanAddrs(v string, limit int) []addrRef {
	var out []addrRef
	var mb mailboxScan
	finish := func() {
		if a, ok := mb.result(); ok && len(out) < limit {
			out = append(out, a)
		}
		mb = mailboxScan{}
	}
	for i := 0; i < len(v) && len(out) < limit; {
		c := v[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			i++
		case c == '(':
			i = skipComment(v, i)
		case c == '"':
			j := skipQuoted(v, i, '"')
			mb.token(v, i, j)
			i = j
		case c == '[':
			j := skipQuoted(v, i, ']')
			mb.token(v, i, j)
			i = j
		case c == '<':
			mb.openAngle(i + 1)
			i++
		case c == '>':
			mb.closeAngle(i)
			i++
		case (c == ',' || c == ';') && !mb.inAngle:
			finish()
			i++
		case c == ':' && !mb.inAngle && !mb.sawAngle && !mb.sawAt:
			// A group's display name: what came before is not an address.
			mb = mailboxScan{}
			i++
		case c == '@' || c == '.' || c == ',' || c == ':' || c == ';':
			if c == '@' {
				mb.sawAt = true
			}
			mb.token(v, i, i+1)
			i++
		default:
			j := i + 1
			for j < len(v) && !isAddrSpecial(v[j]) {
				j++
			}
			mb.token(v, i, j)
			i = j
		}
	}
	finish()
	return out
}

func isAddrSpecial(c byte) bool {
	switch c {
	case ' ', '\t', '\r', '\n', '(', ')', '"', '[', ']', '<', '>', ',', ';', ':', '@', '.':
		return true
	}
	return false
}

// skipComment returns the index after the (possibly nested) comment that
// starts at v[i] == '('; an unterminated comment runs to the end.
func skipComment(v string, i int) int {
	depth := 0
	for ; i < len(v); i++ {
		switch v[i] {
		case '\\':
			i++
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return i + 1
			}
		}
	}
	return len(v)
}

// skipQuoted returns the index after the quoted string or domain literal
// that starts at v[i] and ends with end; unterminated, it runs to the end.
func skipQuoted(v string, i int, end byte) int {
	for i++; i < len(v); i++ {
		switch v[i] {
		case '\\':
			i++
		case end:
			return i + 1
		}
	}
	return len(v)
}

// mailboxScan collects the tokens of one list element.
type mailboxScan struct {
	b          strings.Builder // the tokens outside any angle brackets
	start, end int             // span of those tokens
	n          int
	inAngle    bool
	sawAngle   bool
	sawAt      bool
	angle      strings.Builder // the tokens inside the (last) angle brackets
	aStart     int
	aEnd       int
	aN         int
}

func (m *mailboxScan) token(v string, i, j int) {
	if j > len(v) {
		j = len(v)
	}
	if m.inAngle {
		if m.aN == 0 {
			m.aStart = i
		}
		m.aN++
		m.aEnd = j
		m.angle.WriteString(v[i:j])
		return
	}
	if m.n == 0 {
		m.start = i
	}
	m.n++
	m.end = j
	m.b.WriteString(v[i:j])
}

func (m *mailboxScan) openAngle(at int) {
	m.inAngle, m.sawAngle = true, true
	m.angle.Reset()
	m.aN, m.aStart, m.aEnd = 0, at, at
}

func (m *mailboxScan) closeAngle(int) {
	m.inAngle = false
}

func (m *mailboxScan) result() (addrRef, bool) {
	if m.sawAngle {
		return addrRef{start: m.aStart, end: m.aEnd, addr: m.angle.String()}, true
	}
	if m.n == 0 {
		return addrRef{}, false
	}
	return addrRef{start: m.start, end: m.end, addr: m.b.String()}, true
}

// replaceAddrs returns v with each address for which f gives a different
// text replaced by that text, and whether anything changed.
func replaceAddrs(v string, refs []addrRef, f func(string) string) (string, bool) {
	var b strings.Builder
	last := 0
	changed := false
	for _, r := range refs {
		n := f(r.addr)
		if n == r.addr {
			continue
		}
		if !changed {
			b.Grow(len(v) + 32)
		}
		changed = true
		b.WriteString(v[last:r.start])
		b.WriteString(n)
		last = r.end
	}
	if !changed {
		return v, false
	}
	b.WriteString(v[last:])
	return b.String(), true
}

// splitAddrList returns the addresses of a table result or a command-line
// argument ("a@b, c@d", "Name <a@b>"), empty ones left out.
func splitAddrList(v string, limit int) []string {
	refs := scanAddrs(v, limit)
	out := make([]string, 0, len(refs))
	for _, r := range refs {
		if r.addr != "" {
			out = append(out, r.addr)
		}
	}
	return out
}
