package smtp

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// cleanAddr reports whether an envelope address can go into a command
// line as it is: no control characters (they would end or split the
// command).
func cleanAddr(a string) bool {
	for i := 0; i < len(a); i++ {
		if a[i] < ' ' || a[i] == 0x7f {
			return false
		}
	}
	return len(a) <= 2000
}

// xtext encodes an ESMTP parameter value (RFC 3461 4): "+", "=" and bytes
// outside "!".."~" become "+XX".
func xtext(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '!' || c > '~' || c == '+' || c == '=' {
			fmt.Fprintf(&b, "+%02X", c)
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}

// encodeORCPT encodes "type;address" for ORCPT=. An rfc822 address is
// xtext; a utf-8 one (RFC 6533) is sent as UTF-8 to an SMTPUTF8 server
// and with \x{HEX} escapes to any other. ok is false for a value that
// cannot be sent.
func encodeORCPT(v string, utf8OK bool) (string, bool) {
	typ, a, found := strings.Cut(v, ";")
	if !found || typ == "" || a == "" || !cleanAddr(a) {
		return "", false
	}
	if !strings.EqualFold(typ, "utf-8") {
		if !ascii(a) {
			return "", false
		}
		return xtext(typ) + ";" + xtext(a), true
	}
	if !utf8.ValidString(a) {
		return "", false
	}
	var b strings.Builder
	b.WriteString("utf-8;")
	for _, r := range a {
		switch {
		case r == '+' || r == '=' || r == '\\' || r <= ' ' || r == 0x7f:
			fmt.Fprintf(&b, `\x{%X}`, r)
		case r >= 0x80 && !utf8OK:
			fmt.Fprintf(&b, `\x{%X}`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String(), true
}

// validNotify checks a NOTIFY value: NEVER, or a comma list of SUCCESS,
// FAILURE and DELAY.
func validNotify(n string) bool {
	if n == "NEVER" {
		return true
	}
	for _, w := range strings.Split(n, ",") {
		switch w {
		case "SUCCESS", "FAILURE", "DELAY":
		default:
			return false
		}
	}
	return true
}
