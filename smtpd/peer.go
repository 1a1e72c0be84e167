package smtpd

import (
	"context"
	"net/netip"
	"strings"
	"time"

	"github.com/postern-mta/postern/internal/addr"
)

// peerStatus says how sure we are of a client's host name.
type peerStatus int

const (
	peerOK   peerStatus = iota
	peerTemp            // the lookup failed for now
	peerPerm            // there is no (matching) name
)

// peerNameTimeout bounds the reverse and forward lookups of a client.
const peerNameTimeout = 10 * time.Second

// clientName finds a client's host name: the PTR name, kept as the name
// only if it resolves back to the client's address; "unknown" otherwise.
// It returns the verified name and the unverified reverse name, each
// with its status.
func clientName(ctx context.Context, dns DNS, address string, warn func(string, ...any)) (name string, st peerStatus, reverse string, rst peerStatus) {
	ctx, cancel := context.WithTimeout(ctx, peerNameTimeout)
	defer cancel()
	names, err := dns.LookupAddr(ctx, address)
	if err != nil || len(names) == 0 {
		st = peerTemp
		if err == nil || isNotFound(err) {
			st = peerPerm
		}
		return "unknown", st, "unknown", st
	}
	reverse = strings.TrimSuffix(names[0], ".")
	if !addr.ValidHostname(reverse) || validHostaddr(reverse) {
		warn("numeric or malformed hostname: %s", reverse)
		return "unknown", peerPerm, "unknown", peerPerm
	}
	addrs, err := dns.LookupHost(ctx, reverse)
	if err != nil {
		st = peerTemp
		if isNotFound(err) {
			st = peerPerm
		}
		warn("hostname %s does not resolve to address %s: %v", reverse, address, err)
		return "unknown", st, reverse, peerOK
	}
	want, perr := netip.ParseAddr(address)
	for _, a := range addrs {
		if got, err := netip.ParseAddr(a); err == nil && perr == nil && got.Unmap() == want.Unmap() {
			return reverse, peerOK, reverse, peerOK
		}
	}
	warn("hostname %s does not resolve to address %s", reverse, address)
	return "unknown", peerPerm, reverse, peerOK
}
