package resolve

import (
	"context"
	"strings"

	"github.com/postern-mta/postern/internal/addr"
)

// emptyLocal is the local part an empty one becomes, so that the null
// recipient resolves as MAILER-DAEMON@$myhostname.
const emptyLocal = "MAILER-DAEMON"

// clean turns rcpt into the address that is delivered: source route
// dropped, trailing dot removed, local domains taken off until a remote
// domain or a bare local part is left, routing characters in the local
// part followed where allowed. It returns that address, its domain (lower
// case) and whether the address is local.
func (r *Resolver) clean(ctx context.Context, rcpt string) (recipient, domain string, local bool, err error) {
	a := addr.StripSourceRoute(rcpt)
	saved := ""
	// Each round removes a domain or a routing character, so a well
	// formed address ends long before this; the limit only stops a
	// pathological one.
	for n, limit := 0, len(a)+100; n < limit; n++ {
		if at := lastUnquoted(a, '@'); at >= 0 {
			lp, dom := a[:at], a[at+1:]
			if strings.HasSuffix(dom, ".") && !strings.HasSuffix(dom, "..") {
				dom = dom[:len(dom)-1]
			}
			if dom != "" {
				low := strings.ToLower(dom)
				isLocal, err := r.localDestination(ctx, low)
				if err != nil {
					return "", "", false, err
				}
				if !isLocal {
					return lp + "@" + dom, low, false, nil
				}
				saved = dom
			}
			a = lp
			continue
		}
		if r.c.SwapBangpath {
			if i := indexUnquoted(a, '!'); i >= 0 {
				a = a[i+1:] + "@" + a[:i]
				continue
			}
		}
		if r.c.AllowPercentHack {
			if i := lastUnquoted(a, '%'); i >= 0 {
				a = a[:i] + "@" + a[i+1:]
				continue
			}
		}
		if opened, ok := r.openQuoted(a); ok {
			a = opened
			continue
		}
		break
	}
	if a == "" || a == `""` {
		a = emptyLocal
	}
	if saved == "" {
		saved = r.c.MyHostname
	}
	return a + "@" + saved, strings.ToLower(saved), true, nil
}

// openQuoted looks inside a quoted local part for routing characters
// ('@', and '%' or '!' when allowed) and, when it finds one, returns the
// address they spell. Postfix does the same (resolve_dequoted_address):
// without it "\"user@remote\"@backup-mx" would be relayed to remote by a
// host that thinks it delivers locally.
func (r *Resolver) openQuoted(local string) (string, bool) {
	if len(local) < 2 || local[0] != '"' || local[len(local)-1] != '"' {
		return "", false
	}
	u := addr.UnquoteLocal(local)
	if i := strings.LastIndexByte(u, '@'); i >= 0 {
		return addr.QuoteLocal(u[:i]) + "@" + u[i+1:], true
	}
	if r.c.AllowPercentHack {
		if i := strings.LastIndexByte(u, '%'); i >= 0 {
			return addr.QuoteLocal(u[:i]) + "@" + u[i+1:], true
		}
	}
	if r.c.SwapBangpath {
		if i := strings.IndexByte(u, '!'); i >= 0 {
			return addr.QuoteLocal(u[i+1:]) + "@" + u[:i], true
		}
	}
	return "", false
}

// indexUnquoted is the index of the first c in s outside a quoted string,
// or -1.
func indexUnquoted(s string, c byte) int {
	quoted := false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			quoted = !quoted
		case c:
			if !quoted {
				return i
			}
		}
	}
	return -1
}

// lastUnquoted is the index of the last c in s outside a quoted string, or
// -1.
func lastUnquoted(s string, c byte) int {
	quoted := false
	last := -1
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			quoted = !quoted
		case c:
			if !quoted {
				last = i
			}
		}
	}
	return last
}
