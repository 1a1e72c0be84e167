package smtp

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
)

// targets turns a destination into the servers to try, best first: the
// addresses of its MX hosts in preference order (hosts of equal
// preference shuffled), or of the host itself when it has no MX records
// or the next hop said [host]; at most smtp_mx_address_limit of them.
func (a *Agent) targets(ctx context.Context, d dest) ([]target, *failure) {
	port := d.port
	if port == 0 {
		port = a.cfg.DefaultPort
	}
	switch {
	case d.unix != "":
		txt := strings.TrimPrefix(d.text, "unix:")
		return []target{{host: a.cfg.MyHostname, unix: d.unix, unixTxt: txt, nexthop: d.text, best: true}}, nil
	case d.addr.IsValid():
		return []target{{host: d.host, addr: d.addr, port: port, nexthop: d.host, best: true}}, nil
	case !d.mx:
		addrs, err := a.dns.lookupHost(ctx, d.host, a.cfg.IPv4, a.cfg.IPv6)
		if err != nil {
			return nil, dnsFailure(ctx, err)
		}
		var out []target
		for _, ad := range a.order(addrs) {
			out = append(out, target{host: d.host, addr: ad, port: port, nexthop: d.host, best: true})
		}
		return a.limit(out), nil
	}
	mxs, err := a.dns.lookupMX(ctx, d.host)
	switch {
	case errors.Is(err, errNullMX):
		return nil, localFailure("5.1.0", false, "Domain %s does not accept mail (nullMX)", d.host)
	case err != nil:
		return nil, dnsFailure(ctx, err)
	case len(mxs) == 0:
		// No MX: the domain's own addresses, as if it were its own MX.
		mxs = []mxHost{{name: d.host}}
	}
	a.sortMX(mxs)
	var out []target
	var lastErr error
	selfPref := -1
	for _, mx := range mxs {
		if selfPref >= 0 && int(mx.pref) >= selfPref {
			break
		}
		if strings.EqualFold(mx.name, a.cfg.MyHostname) {
			selfPref = int(mx.pref)
			break
		}
		addrs, err := a.dns.lookupHost(ctx, mx.name, a.cfg.IPv4, a.cfg.IPv6)
		if err != nil {
			if ctx.Err() != nil {
				return nil, interrupted()
			}
			lastErr = err
			continue
		}
		for _, ad := range a.order(addrs) {
			if a.isSelf(ad, port) {
				selfPref = int(mx.pref)
				break
			}
			out = append(out, target{host: mx.name, addr: ad, port: port, nexthop: d.host, pref: int(mx.pref), best: mx.pref == mxs[0].pref})
		}
	}
	if selfPref >= 0 {
		// We are an MX host of the domain: only better ones may take it.
		out = slices.DeleteFunc(out, func(t target) bool { return t.pref >= selfPref })
		if len(out) == 0 {
			if selfPref == int(mxs[0].pref) {
				return nil, localFailure("5.4.6", false, "mail for %s loops back to myself", d.host)
			}
			return nil, localFailure("4.4.6", true, "mail for %s loops back to myself", d.host)
		}
	}
	if len(out) == 0 {
		if lastErr == nil {
			lastErr = &lookupError{name: d.host, qtype: "MX"}
		}
		f := dnsFailure(ctx, lastErr)
		if a.cfg.DeferIfNoMXAddress && f.st.Permanent() {
			f = localFailure("4.4.4", true, "%s", f.reason)
		}
		return nil, f
	}
	return a.limit(out), nil
}

// dnsFailure words a failed lookup: no such name bounces (5.4.4), a
// lookup that could not be done defers (4.4.3) and marks the destination.
func dnsFailure(ctx context.Context, err error) *failure {
	if ctx.Err() != nil {
		return interrupted()
	}
	var le *lookupError
	if errors.As(err, &le) && !le.temp {
		return localFailure("5.4.4", false, "Host or domain name not found. %v", err)
	}
	return localFailure("4.4.3", true, "Host or domain name not found. %v", err)
}

// sortMX puts MX hosts in preference order, shuffling equal ones.
func (a *Agent) sortMX(mxs []mxHost) {
	if a.cfg.RandomizeAddresses {
		rand.Shuffle(len(mxs), func(i, j int) { mxs[i], mxs[j] = mxs[j], mxs[i] })
	}
	slices.SortStableFunc(mxs, func(x, y mxHost) int { return int(x.pref) - int(y.pref) })
}

// order applies smtp_address_preference to one host's addresses: one
// family first, or, for "any", the two interleaved starting with either
// at random (as smtp_balance_inet_protocols does), so that a broken
// IPv6 (or IPv4) path costs at most every other attempt.
func (a *Agent) order(addrs []netip.Addr) []netip.Addr {
	var v4, v6 []netip.Addr
	for _, ad := range addrs {
		if ad.Is4() {
			v4 = append(v4, ad)
		} else {
			v6 = append(v6, ad)
		}
	}
	if len(v4) == 0 || len(v6) == 0 {
		return addrs
	}
	switch a.cfg.AddressPreference {
	case "ipv4":
		return append(v4, v6...)
	case "ipv6":
		return append(v6, v4...)
	}
	first, second := v4, v6
	if rand.IntN(2) == 0 {
		first, second = v6, v4
	}
	out := make([]netip.Addr, 0, len(addrs))
	for i := 0; i < max(len(first), len(second)); i++ {
		if i < len(first) {
			out = append(out, first[i])
		}
		if i < len(second) {
			out = append(out, second[i])
		}
	}
	return out
}

// limit applies smtp_mx_address_limit.
func (a *Agent) limit(ts []target) []target {
	if n := a.cfg.MXAddressLimit; n > 0 && len(ts) > n {
		return ts[:n]
	}
	return ts
}

// isSelf reports whether addr:port is this host's own SMTP service. Only
// the standard port counts: a server on another port of one of our
// addresses (a content filter, a test sink) is someone else.
func (a *Agent) isSelf(addr netip.Addr, port int) bool {
	return port == 25 && slices.Contains(a.cfg.LocalAddrs, addr)
}
