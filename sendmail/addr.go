package sendmail

import "strings"

// addresses returns the addresses of an RFC 5322 address list as a
// command-line argument or a To:/Cc:/Bcc: header holds them ("a@b, Name
// <c@d>, group: e;"), with comments and display names left out; "<>" is
// the empty address. At most limit are returned.
//
// This is the same reading cleanup makes of header addresses; sendmail
// needs it on its own to find recipients before the message is queued.
func addresses(v string, limit int) []string {
	var out []string
	var cur, angle strings.Builder
	inAngle, sawAngle, sawAt, any := false, false, false, false
	finish := func() {
		switch {
		case sawAngle:
			out = append(out, angle.String())
		case any:
			out = append(out, cur.String())
		}
		cur.Reset()
		angle.Reset()
		inAngle, sawAngle, sawAt, any = false, false, false, false
	}
	tok := func(s string) {
		if inAngle {
			angle.WriteString(s)
			return
		}
		cur.WriteString(s)
		any = true
	}
	for i := 0; i < len(v) && len(out) < limit; {
		c := v[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			i++
		case c == '(':
			depth := 0
			for ; i < len(v); i++ {
				if v[i] == '\\' {
					i++
				} else if v[i] == '(' {
					depth++
				} else if v[i] == ')' {
					if depth--; depth == 0 {
						i++
						break
					}
				}
			}
		case c == '"' || c == '[':
			end := byte('"')
			if c == '[' {
				end = ']'
			}
			j := i + 1
			for ; j < len(v) && v[j] != end; j++ {
				if v[j] == '\\' {
					j++
				}
			}
			j = min(j+1, len(v))
			tok(v[i:j])
			i = j
		case c == '<':
			inAngle, sawAngle = true, true
			angle.Reset()
			i++
		case c == '>':
			inAngle = false
			i++
		case (c == ',' || c == ';') && !inAngle:
			finish()
			i++
		case c == ':' && !inAngle && !sawAngle && !sawAt:
			cur.Reset() // a group's name
			any = false
			i++
		case strings.IndexByte("@.,:;", c) >= 0:
			if c == '@' {
				sawAt = true
			}
			tok(v[i : i+1])
			i++
		default:
			j := i + 1
			for j < len(v) && strings.IndexByte(" \t\r\n()\"[]<>,;:@.", v[j]) < 0 {
				j++
			}
			tok(v[i:j])
			i = j
		}
	}
	if len(out) < limit {
		finish()
	}
	return out
}
