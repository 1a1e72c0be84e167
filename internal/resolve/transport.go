package resolve

import (
	"context"
	"fmt"
	"strings"

	"github.com/postern-mta/postern/internal/maps"
)

// transportLookup applies the first transport_maps entry that matches the
// resolved recipient (user+ext@domain, user@domain, domain, parents, "*")
// to res. domain is the recipient's domain, lower case: the next hop a
// "transport:" entry without one goes back to.
func (r *Resolver) transportLookup(ctx context.Context, res *Result, domain string) error {
	found, err := maps.LookupAddress(ctx, r.c.TransportMaps, res.Recipient, maps.AddrOptions{
		Style:         maps.StyleTransport,
		Delimiter:     r.c.RecipientDelimiter,
		ParentMatches: r.c.TransportParentMatches,
	})
	if err != nil {
		return fmt.Errorf("transport_maps lookup failure for <%s>: %w", res.Recipient, err)
	}
	if found.Found {
		applyEntry(res, found.Value, domain)
	}
	return nil
}

// applyEntry changes res as a transport(5) value says. An empty transport
// keeps the transport (and the next hop, unless one is given); a named
// transport without a next hop goes back to the recipient's domain, or,
// for error and retry, to a generic reason: a next hop set for another
// transport means nothing to the new one.
func applyEntry(res *Result, value, domain string) {
	name, hop, _ := strings.Cut(strings.TrimSpace(value), ":")
	name = strings.TrimSpace(name)
	if name == "" {
		if hop != "" {
			res.Nexthop = hop
		}
		return
	}
	res.Transport = name
	switch {
	case hop != "":
		res.Nexthop = hop
	case name == TransportError || name == TransportRetry:
		res.Nexthop = undeliverable
	default:
		res.Nexthop = domain
	}
}
