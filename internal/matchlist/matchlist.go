// Package matchlist implements Postfix's match lists: the values of
// mydestination, relay_domains, virtual_*_domains, mynetworks,
// qmqpd_authorized_clients, fast_flush_domains and the like.
//
// A list is items separated by commas or whitespace, tried left to right;
// the first item that matches decides. An item is
//
//	name           a domain (Domains) or an address, network or host name (Networks)
//	.name          a subdomain of name (Domains)
//	type:table     a lookup table; any value found counts as a match
//	/file/name     the items of that file (one or more per line, # comments)
//	!item          a match of item means "no" (and stops the search)
//
// A lookup table that fails temporarily makes Match return an error, which
// callers turn into a 4xx reply or a deferral, never a silent "no".
package matchlist

import (
	"bufio"
	"context"
	"fmt"
	"net/netip"
	"os"
	"strings"

	"github.com/postern-mta/postern/internal/maps"
)

// item is one element of a list.
type item struct {
	negate bool
	text   string     // literal (lower-cased), without "." for subdomain items
	sub    bool       // ".name": subdomains only
	table  maps.Table // type:table
	prefix netip.Prefix
	isNet  bool
}

// Split splits a list value on commas and whitespace, keeping "{…}"
// groups (inline tables) whole.
func Split(s string) []string {
	var out []string
	depth := 0
	start := -1
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '{':
			depth++
			if start < 0 {
				start = i
			}
		case c == '}':
			if depth > 0 {
				depth--
			}
		case depth == 0 && (c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '\r'):
			if start >= 0 {
				out = append(out, s[start:i])
				start = -1
			}
		default:
			if start < 0 {
				start = i
			}
		}
	}
	if start >= 0 {
		out = append(out, s[start:])
	}
	return out
}

// parse expands /file items and opens tables.
func parse(items []string, opt maps.Options, depth int, asNet bool) ([]item, error) {
	if depth > 10 {
		return nil, fmt.Errorf("match list: /file items nested too deep")
	}
	var out []item
	for _, raw := range items {
		neg := false
		s := raw
		for strings.HasPrefix(s, "!") {
			neg = !neg
			s = s[1:]
		}
		if s == "" {
			continue
		}
		switch {
		case strings.HasPrefix(s, "/"):
			sub, err := readFile(s)
			if err != nil {
				return nil, err
			}
			got, err := parse(sub, opt, depth+1, asNet)
			if err != nil {
				return nil, err
			}
			if neg {
				for i := range got {
					got[i].negate = !got[i].negate
				}
			}
			out = append(out, got...)
		case isTable(s):
			t, err := maps.Open(s, opt)
			if err != nil {
				return nil, err
			}
			out = append(out, item{negate: neg, table: t, text: s})
		default:
			it := item{negate: neg, text: strings.ToLower(s)}
			if asNet {
				if p, ok := parseNet(s); ok {
					it.prefix, it.isNet = p, true
				}
			} else if strings.HasPrefix(it.text, ".") {
				it.sub = true
				it.text = it.text[1:]
			}
			out = append(out, it)
		}
	}
	return out, nil
}

// isTable reports whether s looks like "type:name" rather than a host, an
// IPv6 address or a bracketed literal.
func isTable(s string) bool {
	i := strings.IndexByte(s, ':')
	if i <= 0 || strings.HasPrefix(s, "[") {
		return false
	}
	for _, c := range s[:i] {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	// "2001:db8::/32" starts with hex digits too: a table type is never
	// all hex digits and is followed by something that is not ":".
	if _, err := netip.ParsePrefix(s); err == nil {
		return false
	}
	if _, err := netip.ParseAddr(s); err == nil {
		return false
	}
	return true
}

func parseNet(s string) (netip.Prefix, bool) {
	s = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
	s = strings.Replace(s, "]/", "/", 1)
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), true
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return netip.PrefixFrom(a, a.BitLen()), true
	}
	return netip.Prefix{}, false
}

func readFile(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("match list: %w", err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 64<<10)
	for sc.Scan() {
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		out = append(out, Split(line)...)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("match list: read %s: %w", path, err)
	}
	return out, nil
}

// Domains is a list of domains.
type Domains struct {
	items         []item
	parentMatches bool
}

// NewDomains builds a domain list. parentMatches says whether a plain
// "example.com" item also matches its subdomains (the owning parameter is
// in parent_domain_matches_subdomains).
func NewDomains(items []string, parentMatches bool, opt maps.Options) (*Domains, error) {
	its, err := parse(items, opt, 0, false)
	if err != nil {
		return nil, err
	}
	return &Domains{items: its, parentMatches: parentMatches}, nil
}

// Empty reports whether the list has no items.
func (d *Domains) Empty() bool { return d == nil || len(d.items) == 0 }

// Match reports whether domain is in the list.
func (d *Domains) Match(ctx context.Context, domain string) (bool, error) {
	if d == nil {
		return false, nil
	}
	domain = strings.ToLower(strings.TrimSuffix(domain, "."))
	for _, it := range d.items {
		hit, err := d.matchItem(ctx, it, domain)
		if err != nil {
			return false, err
		}
		if hit {
			return !it.negate, nil
		}
	}
	return false, nil
}

func (d *Domains) matchItem(ctx context.Context, it item, domain string) (bool, error) {
	if it.table != nil {
		r, err := maps.LookupDomain(ctx, it.table, domain, d.parentMatches)
		if err != nil {
			return false, fmt.Errorf("%s: %w", it.table.Name(), err)
		}
		return r.Found, nil
	}
	switch {
	case it.sub:
		return strings.HasSuffix(domain, "."+it.text), nil
	case domain == it.text:
		return true, nil
	case d.parentMatches:
		return strings.HasSuffix(domain, "."+it.text), nil
	}
	return false, nil
}

// Networks is a list of client addresses, networks and host names.
type Networks struct {
	items []item
}

// NewNetworks builds a network list ("127.0.0.0/8 [::1]/128 host.example
// cidr:/etc/postern/nets").
func NewNetworks(items []string, opt maps.Options) (*Networks, error) {
	its, err := parse(items, opt, 0, true)
	if err != nil {
		return nil, err
	}
	return &Networks{items: its}, nil
}

// Empty reports whether the list has no items.
func (n *Networks) Empty() bool { return n == nil || len(n.items) == 0 }

// Match reports whether a client (its address, and its verified host name
// or "unknown") is in the list.
func (n *Networks) Match(ctx context.Context, addr netip.Addr, hostname string) (bool, error) {
	if n == nil {
		return false, nil
	}
	addr = addr.Unmap()
	host := strings.ToLower(strings.TrimSuffix(hostname, "."))
	for _, it := range n.items {
		var hit bool
		switch {
		case it.table != nil:
			r, err := maps.LookupClient(ctx, it.table, host, addr.String())
			if err != nil {
				return false, fmt.Errorf("%s: %w", it.table.Name(), err)
			}
			hit = r.Found
		case it.isNet:
			hit = it.prefix.Contains(addr)
		case host != "" && host != "unknown":
			hit = host == it.text || strings.HasPrefix(it.text, ".") && strings.HasSuffix(host, it.text)
		}
		if hit {
			return !it.negate, nil
		}
	}
	return false, nil
}
