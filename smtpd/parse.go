package smtpd

import (
	"errors"
	"strconv"
	"strings"

	"github.com/postern-mta/postern/internal/addr"
)

// Parsing of what clients send: the MAIL FROM/RCPT TO argument, the
// address inside it, and the ESMTP parameters. Everything here is fed
// straight from the network, is bounded by the command line length, and
// is fuzzed (parse_fuzz_test.go).

// splitPath splits "FROM:<a@b> SIZE=10" (keyword "FROM:") into the path
// "<a@b>" and the parameters. ok is false when the keyword is missing or
// there is no path at all.
func splitPath(arg, keyword string) (path string, params []string, ok bool) {
	if len(arg) < len(keyword) || !strings.EqualFold(arg[:len(keyword)], keyword) {
		return "", nil, false
	}
	rest := strings.TrimLeft(arg[len(keyword):], " \t")
	if rest == "" {
		return "", nil, false
	}
	end := len(rest)
	if rest[0] == '<' {
		end = closingBracket(rest)
		if end < 0 {
			// Unbalanced: take the word, the address parser refuses it.
			end = strings.IndexAny(rest, " \t")
			if end < 0 {
				end = len(rest)
			}
		} else {
			end++
		}
	} else if i := strings.IndexAny(rest, " \t"); i >= 0 {
		end = i
	}
	return rest[:end], strings.Fields(rest[end:]), true
}

// closingBracket finds the '>' that closes the '<' at s[0], skipping
// quoted strings and backslash escapes; -1 if there is none.
func closingBracket(s string) int {
	quoted := false
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\':
			i++
		case c == '"':
			quoted = !quoted
		case c == '>' && !quoted:
			return i
		}
	}
	return -1
}

// extractAddress takes the address out of a path: "<a@b>", "a@b",
// "<@route,@route:a@b>". The result keeps RFC 5321 quoting. ok is false
// for anything that is not one plain address.
func extractAddress(path string, allowEmpty bool) (string, bool) {
	a := path
	if strings.HasPrefix(a, "<") && strings.HasSuffix(a, ">") && len(a) >= 2 {
		a = a[1 : len(a)-1]
	}
	a = addr.StripSourceRoute(strings.TrimSpace(a))
	if a == "" {
		return "", allowEmpty
	}
	if len(a) > 1000 {
		return "", false
	}
	quoted := false
	ats := 0
	for i := 0; i < len(a); i++ {
		c := a[i]
		switch {
		case c == '\\':
			if i+1 >= len(a) {
				return "", false
			}
			i++
			if a[i] < ' ' && a[i] != '\t' {
				return "", false
			}
		case c == '"':
			quoted = !quoted
		case c < ' ' || c == 0x7f:
			return "", false
		case quoted:
		case c == ' ' || c == '\t' || c == '<' || c == '>' || c == ',' || c == ';' || c == '(' || c == ')':
			return "", false
		case c == '@':
			ats++
		}
	}
	if quoted || ats > 1 {
		return "", false
	}
	local, domain := addr.Split(a)
	if ats == 1 && (local == "" || domain == "") {
		return "", false
	}
	if domain != "" && !validDomainPart(domain) {
		return "", false
	}
	return a, true
}

// validDomainPart accepts host names (UTF-8 allowed; SMTPUTF8 is checked
// elsewhere) and address literals.
func validDomainPart(d string) bool {
	if strings.HasPrefix(d, "[") {
		if !strings.HasSuffix(d, "]") {
			return false
		}
		_, ok := mailhostAddr(d[1 : len(d)-1])
		return ok
	}
	return addr.ValidHostname(strings.TrimSuffix(d, "."))
}

func validHostnameOrAddr(s string) bool {
	return addr.ValidHostname(s) || validHostaddr(s)
}

// isASCII reports whether s has only 7-bit characters.
func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

var errXtext = errors.New("bad xtext")

// decodeXtext undoes RFC 3461 xtext ("+2B" is '+').
func decodeXtext(s string) (string, error) {
	if !strings.Contains(s, "+") {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '+' {
			b.WriteByte(c)
			continue
		}
		if i+2 >= len(s) {
			return "", errXtext
		}
		v, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
		if err != nil {
			return "", errXtext
		}
		b.WriteByte(byte(v))
		i += 2
	}
	return b.String(), nil
}

// allPrint reports whether s is printable ASCII.
func allPrint(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

// mailParams is what MAIL FROM's parameters ask for.
type mailParams struct {
	size     int64
	sizeSet  bool
	encoding string // 7bit, 8bitmime
	smtputf8 bool
	ret      string // FULL, HDRS
	envID    string
}

// parseMailParams reads MAIL FROM parameters; a non-empty reply is the
// error to send.
func parseMailParams(params []string, dsnOK, utf8OK bool) (mailParams, string) {
	var p mailParams
	envSeen := false
	for _, arg := range params {
		name, value, _ := strings.Cut(arg, "=")
		switch strings.ToUpper(name) {
		case "BODY":
			switch strings.ToUpper(value) {
			case "8BITMIME":
				p.encoding = "8bit"
			case "7BIT":
				p.encoding = "7bit"
			default:
				return p, "555 5.5.4 Unsupported option: " + arg
			}
		case "SIZE":
			if !allDigits(value) {
				return p, "501 5.5.4 Bad message size syntax"
			}
			n, err := strconv.ParseInt(value, 10, 64)
			if err != nil {
				return p, "552 5.3.4 Message size exceeds file system imposed limit"
			}
			p.size, p.sizeSet = n, true
		case "SMTPUTF8":
			if !utf8OK || strings.Contains(arg, "=") {
				return p, "555 5.5.4 Unsupported option: " + arg
			}
			p.smtputf8 = true
		case "RET":
			if !dsnOK {
				return p, "501 5.7.1 DSN support is disabled"
			}
			v := strings.ToUpper(value)
			if p.ret != "" || (v != "FULL" && v != "HDRS") {
				return p, "501 5.5.4 Bad RET parameter syntax"
			}
			p.ret = v
		case "ENVID":
			if !dsnOK {
				return p, "501 5.7.1 DSN support is disabled"
			}
			v, err := decodeXtext(value)
			if envSeen || err != nil || v == "" || !allPrint(v) || len(v) > 100 {
				return p, "501 5.5.4 Bad ENVID parameter syntax"
			}
			p.envID, envSeen = v, true
		case "AUTH":
			return p, "503 5.7.4 Error: authentication disabled"
		default:
			return p, "555 5.5.4 Unsupported option: " + arg
		}
	}
	return p, ""
}

// rcptParams is what RCPT TO's parameters ask for.
type rcptParams struct {
	notify string // "NEVER" or a subset of "SUCCESS,FAILURE,DELAY"
	orcpt  string // "type;address", decoded
}

func parseRcptParams(params []string, dsnOK bool) (rcptParams, string) {
	var p rcptParams
	for _, arg := range params {
		name, value, _ := strings.Cut(arg, "=")
		switch strings.ToUpper(name) {
		case "NOTIFY":
			if !dsnOK {
				return p, "501 5.7.1 DSN support is disabled"
			}
			n, ok := parseNotify(value)
			if p.notify != "" || !ok {
				return p, "501 5.5.4 Error: Bad NOTIFY parameter syntax"
			}
			p.notify = n
		case "ORCPT":
			if !dsnOK {
				return p, "501 5.7.1 DSN support is disabled"
			}
			typ, coded, found := strings.Cut(value, ";")
			a, err := decodeXtext(coded)
			if p.orcpt != "" || !found || typ == "" || err != nil || !allPrint(typ) || len(a) > 1000 {
				return p, "501 5.5.4 Error: Bad ORCPT parameter syntax"
			}
			p.orcpt = typ + ";" + a
		default:
			return p, "555 5.5.4 Unsupported option: " + arg
		}
	}
	return p, ""
}

// parseNotify checks a NOTIFY value and gives it in a fixed form.
func parseNotify(v string) (string, bool) {
	if v == "" {
		return "", false
	}
	var never, success, failure, delay bool
	for _, w := range strings.Split(strings.ToUpper(v), ",") {
		switch w {
		case "NEVER":
			never = true
		case "SUCCESS":
			success = true
		case "FAILURE":
			failure = true
		case "DELAY":
			delay = true
		default:
			return "", false
		}
	}
	if never {
		if success || failure || delay {
			return "", false
		}
		return "NEVER", true
	}
	var out []string
	if success {
		out = append(out, "SUCCESS")
	}
	if failure {
		out = append(out, "FAILURE")
	}
	if delay {
		out = append(out, "DELAY")
	}
	return strings.Join(out, ","), true
}
