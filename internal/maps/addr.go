package maps

import (
	"context"
	"slices"
	"strings"
)

// AddrStyle names a Postfix address lookup order.
type AddrStyle int

const (
	// StyleAccess is access(5) for senders and recipients:
	// user+ext@domain, user@domain, domain (and parents), user+ext@,
	// user@. The null address is looked up as "<>".
	StyleAccess AddrStyle = iota
	// StyleVirtual is virtual(5): user+ext@domain, user@domain,
	// user+ext, user (those two only for a local domain), @domain.
	StyleVirtual
	// StyleCanonical is canonical(5), the same order as virtual(5).
	StyleCanonical
	// StyleTransport is transport(5): user+ext@domain, user@domain,
	// domain, parent domains (".parent" unless ParentMatches), "*".
	StyleTransport
	// StyleRelocated is relocated(5), the same order as virtual(5).
	StyleRelocated
	// StyleAlias is aliases(5): the local part only, user+ext then user.
	StyleAlias
)

// AddrOptions say how LookupAddress searches.
type AddrOptions struct {
	Style AddrStyle
	// Delimiter is recipient_delimiter; each of its characters is a
	// delimiter, and the first one found in the local part splits it.
	Delimiter string
	// ParentMatches is true when parent_domain_matches_subdomains lists
	// the table's parameter: "example.com" then matches sub.example.com;
	// otherwise only ".example.com" does.
	ParentMatches bool
	// IsLocalDomain says whether a domain is $myorigin, $mydestination or
	// one of the interface addresses, for the bare "user" lookups of
	// virtual, canonical and relocated tables. Nil: never.
	IsLocalDomain func(domain string) bool
}

// Result is what an address lookup found. Key is the key that matched
// ("@example.com", "user@", …), for logs and for the caller's handling
// of an extension (a match on a key without the extension may want it
// put back).
type Result struct {
	Value, Key string
	Found      bool
}

// LookupAddress searches t for addr in the order of o.Style (COMPAT.md
// §4 "Address lookup order"); the first key found wins. Pattern tables
// (see Pattern) get the whole address only (the local part for
// StyleAlias); in a List, partial keys skip its pattern tables. The
// domain is lower-cased; the rest is passed as it is, for the table's
// own case folding to decide. A table error ends the search.
func LookupAddress(ctx context.Context, t Table, addr string, o AddrOptions) (Result, error) {
	a := splitAddress(addr, o.Delimiter)
	var keys []string
	if o.Style == StyleAlias {
		keys = append(keys, a.local)
		if a.split {
			keys = append(keys, a.user)
		}
		return lookupKeys(ctx, t, keys)
	}
	if addr == "" {
		if o.Style == StyleAccess {
			return lookupKeys(ctx, t, []string{"<>"})
		}
		return Result{}, nil
	}
	keys = append(keys, a.full)
	if a.split && a.hasAt {
		keys = append(keys, a.user+"@"+a.domain)
	}
	switch o.Style {
	case StyleAccess:
		if !a.hasAt && a.split {
			keys = append(keys, a.user)
		}
		if a.domain != "" {
			keys = append(keys, domainKeys(a.domain, o.ParentMatches)...)
		}
		if a.hasAt {
			keys = append(keys, a.local+"@")
			if a.split {
				keys = append(keys, a.user+"@")
			}
		}
	case StyleTransport:
		if a.domain != "" {
			keys = append(keys, domainKeys(a.domain, o.ParentMatches)...)
		}
		keys = append(keys, "*")
	default: // virtual, canonical, relocated
		if !a.hasAt || (o.IsLocalDomain != nil && o.IsLocalDomain(a.domain)) {
			if a.hasAt {
				keys = append(keys, a.local)
			}
			if a.split {
				keys = append(keys, a.user)
			}
		}
		if a.hasAt && a.domain != "" {
			keys = append(keys, "@"+a.domain)
		}
	}
	return lookupKeys(ctx, t, keys)
}

// LookupDomain searches t for a domain and then its parent domains, the
// way access(5) and transport(5) do: "a.b.example" then "b.example",
// "example" when parentMatches, else ".b.example", ".example". Pattern
// tables get the domain only.
func LookupDomain(ctx context.Context, t Table, domain string, parentMatches bool) (Result, error) {
	domain = strings.ToLower(strings.TrimSuffix(domain, "."))
	if domain == "" {
		return Result{}, nil
	}
	return lookupKeys(ctx, t, domainKeys(domain, parentMatches))
}

// LookupClient searches t the way access(5) checks an SMTP client: the
// host name and its parent domains (parent_domain_matches_subdomains
// default: "example.com" matches its subdomains), then the address with
// ever shorter prefixes: 1.2.3.4, 1.2.3, 1.2, 1, and for IPv6 likewise
// by ':'-separated groups. Pattern tables (cidr:, regexp:) get the whole
// host name and the whole address. An empty host name is skipped.
func LookupClient(ctx context.Context, t Table, hostname, addr string) (Result, error) {
	return LookupClientParent(ctx, t, hostname, addr, true)
}

// LookupClientParent is LookupClient for a table whose parameter is not
// in parent_domain_matches_subdomains: parents are looked up as
// ".parent".
func LookupClientParent(ctx context.Context, t Table, hostname, addr string, parentMatches bool) (Result, error) {
	var keys []string
	if h := strings.ToLower(strings.TrimSuffix(hostname, ".")); h != "" {
		keys = append(keys, domainKeys(h, parentMatches)...)
	}
	addr = strings.ToLower(strings.TrimSuffix(strings.TrimPrefix(addr, "["), "]"))
	if addr != "" {
		keys = append(keys, addrKeys(addr)...)
	}
	whole := wholeKeys(hostname, addr)
	if IsPattern(t) {
		keys = slices.DeleteFunc(keys, func(k string) bool { return !whole[k] })
	}
	return lookupKeysPartial(ctx, t, keys, whole)
}

// lookupKeys tries keys in order. The first key is the whole one; the
// others are partial and skip pattern tables (and the whole lookup of a
// pattern table stops after the first key).
func lookupKeys(ctx context.Context, t Table, keys []string) (Result, error) {
	if len(keys) == 0 {
		return Result{}, nil
	}
	if IsPattern(t) {
		keys = keys[:1]
	}
	return lookupKeysPartial(ctx, t, keys, map[string]bool{keys[0]: true})
}

// lookupKeysPartial tries keys in order; keys in whole are shown to the
// pattern members of a List too, the others only to its fixed members.
func lookupKeysPartial(ctx context.Context, t Table, keys []string, whole map[string]bool) (Result, error) {
	l, isList := t.(*List)
	for _, k := range keys {
		var (
			v     string
			found bool
			err   error
		)
		if isList {
			v, found, err = l.lookup(ctx, k, !whole[k])
		} else {
			v, found, err = t.Lookup(ctx, k)
		}
		if err != nil {
			return Result{}, err
		}
		if found {
			return Result{Value: v, Key: k, Found: true}, nil
		}
	}
	return Result{}, nil
}

func wholeKeys(hostname, addr string) map[string]bool {
	m := map[string]bool{}
	if h := strings.ToLower(strings.TrimSuffix(hostname, ".")); h != "" {
		m[h] = true
	}
	if addr != "" {
		m[addr] = true
	}
	return m
}

// domainKeys returns a domain and its parents in lookup order. An
// address literal ("[192.0.2.1]") has no parents.
func domainKeys(domain string, parentMatches bool) []string {
	keys := []string{domain}
	if strings.HasPrefix(domain, "[") {
		return keys
	}
	name := domain
	for {
		i := strings.IndexByte(name[1:], '.')
		if i < 0 {
			return keys
		}
		name = name[i+1:] // ".parent"
		if parentMatches {
			name = name[1:]
			if name == "" {
				return keys
			}
		}
		keys = append(keys, name)
	}
}

// addrKeys returns an address and its shorter prefixes: "1.2.3.4",
// "1.2.3", "1.2", "1"; for IPv6, cut at each ':' from the right.
func addrKeys(addr string) []string {
	delim := byte('.')
	if strings.IndexByte(addr, ':') >= 0 {
		delim = ':'
	}
	keys := []string{addr}
	for {
		i := strings.LastIndexByte(addr, delim)
		if i <= 0 {
			return keys
		}
		addr = addr[:i]
		keys = append(keys, addr)
	}
}

// address is an address split for lookups.
type address struct {
	full   string // as given, domain lower-cased
	local  string // local part, extension included
	user   string // local part without the extension
	split  bool   // the local part has an extension (maybe empty)
	domain string // lower-cased; "" when none
	hasAt  bool
}

func splitAddress(addr, delim string) address {
	a := address{full: addr, local: addr}
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		a.hasAt = true
		a.local = addr[:i]
		a.domain = strings.ToLower(strings.TrimSuffix(addr[i+1:], "."))
		a.full = a.local + "@" + a.domain
	}
	a.user, _, a.split = SplitExtension(a.local, delim)
	return a
}

// SplitExtension splits a local part "user+ext" at the first character
// of delim (recipient_delimiter) found in it, the way Postfix does: never
// postmaster, mailer-daemon or double-bounce, never owner-list or
// list-request when '-' is a delimiter, and never into an empty user.
// split is false when there is no extension; ext may be empty when the
// local part ends with the delimiter.
func SplitExtension(local, delim string) (user, ext string, split bool) {
	if delim == "" || local == "" {
		return local, "", false
	}
	switch strings.ToLower(local) {
	case "postmaster", "mailer-daemon", "double-bounce":
		return local, "", false
	}
	if strings.IndexByte(delim, '-') >= 0 {
		l := strings.ToLower(local)
		if strings.HasPrefix(l, "owner-") || (len(l) > 8 && strings.HasSuffix(l, "-request")) {
			return local, "", false
		}
	}
	i := strings.IndexAny(local, delim)
	if i <= 0 {
		return local, "", false
	}
	return local[:i], local[i+1:], true
}
