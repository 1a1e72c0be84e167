// Package addr handles mail addresses as the envelope carries them
// ("local@domain", "<>" as the empty string): splitting, the recipient
// delimiter, case rules and the RFC 5321 quoting of local parts.
//
// Addresses are kept in their external (quoted where needed) form
// everywhere in Postern; Split and Join convert at the edges.
package addr

import (
	"strings"
)

// Split returns the local part and domain of an address. The domain is
// everything after the last '@' that is not inside a quoted local part; an
// address without '@' has an empty domain.
func Split(a string) (local, domain string) {
	i := lastAt(a)
	if i < 0 {
		return a, ""
	}
	return a[:i], a[i+1:]
}

func lastAt(a string) int {
	quoted := false
	last := -1
	for i := 0; i < len(a); i++ {
		switch a[i] {
		case '\\':
			if quoted {
				i++
			}
		case '"':
			quoted = !quoted
		case '@':
			if !quoted {
				last = i
			}
		}
	}
	return last
}

// Domain returns the domain of an address, lower-cased.
func Domain(a string) string {
	_, d := Split(a)
	return strings.ToLower(d)
}

// Local returns the local part of an address.
func Local(a string) string {
	l, _ := Split(a)
	return l
}

// Join puts a local part and a domain together.
func Join(local, domain string) string {
	if domain == "" {
		return local
	}
	return local + "@" + domain
}

// Extension splits a local part at the first recipient delimiter: "bob+list"
// with delimiters "+" gives ("bob", "list", '+'). Several delimiter
// characters may be configured; the first one found in the local part is
// used. No delimiter, an empty delimiter set, or a local part that starts
// with the delimiter (owner-style names like "+x") gives (local, "", 0).
func Extension(local, delimiters string) (user, ext string, delim byte) {
	if delimiters == "" {
		return local, "", 0
	}
	i := strings.IndexAny(local, delimiters)
	if i <= 0 {
		return local, "", 0
	}
	return local[:i], local[i+1:], local[i]
}

// StripSourceRoute removes an RFC 5321 source route: "@a,@b:user@dom"
// becomes "user@dom".
func StripSourceRoute(a string) string {
	if !strings.HasPrefix(a, "@") {
		return a
	}
	if i := strings.IndexByte(a, ':'); i >= 0 {
		return a[i+1:]
	}
	return a
}

// IsFQDN reports whether a domain has the form of a fully qualified name
// (at least one dot, no empty labels) or is an address literal "[…]".
func IsFQDN(domain string) bool {
	if strings.HasPrefix(domain, "[") && strings.HasSuffix(domain, "]") {
		return true
	}
	d := strings.TrimSuffix(domain, ".")
	if !strings.Contains(d, ".") {
		return false
	}
	for _, l := range strings.Split(d, ".") {
		if l == "" {
			return false
		}
	}
	return true
}

// ValidHostname reports whether s is a syntactically valid host name:
// labels of letters, digits and hyphens (not at either end), each 1–63
// characters, 255 in all, not all-numeric at the top.
func ValidHostname(s string) bool {
	s = strings.TrimSuffix(s, ".")
	if s == "" || len(s) > 255 {
		return false
	}
	labels := strings.Split(s, ".")
	for _, l := range labels {
		if len(l) == 0 || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c >= 0x80) {
				return false
			}
		}
	}
	top := labels[len(labels)-1]
	return strings.Trim(top, "0123456789") != ""
}

// QuoteLocal quotes a local part when RFC 5321 requires it (it is not a
// dot-atom).
func QuoteLocal(local string) string {
	if isDotAtom(local) {
		return local
	}
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(local); i++ {
		c := local[i]
		if c == '"' || c == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(c)
	}
	b.WriteByte('"')
	return b.String()
}

// UnquoteLocal removes RFC 5321 quoting from a local part.
func UnquoteLocal(local string) string {
	if len(local) < 2 || local[0] != '"' || local[len(local)-1] != '"' {
		return local
	}
	var b strings.Builder
	in := local[1 : len(local)-1]
	for i := 0; i < len(in); i++ {
		if in[i] == '\\' && i+1 < len(in) {
			i++
		}
		b.WriteByte(in[i])
	}
	return b.String()
}

func isDotAtom(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c >= 0x80 {
			continue
		}
		if !strings.ContainsRune("!#$%&'*+-/=?^_`{|}~.", rune(c)) {
			return false
		}
	}
	return true
}
