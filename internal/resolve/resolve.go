package resolve

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/postern-mta/postern/internal/matchlist"
)

// Class is an address class: what kind of destination a domain is.
type Class int

// Address classes, in the order they are tried.
const (
	ClassLocal          Class = iota + 1 // mydestination, inet_interfaces/proxy_interfaces literals, no domain
	ClassVirtualAlias                    // virtual_alias_domains
	ClassVirtualMailbox                  // virtual_mailbox_domains
	ClassRelay                           // relay_domains
	ClassDefault                         // everything else
)

var classNames = [...]string{
	ClassLocal:          "local",
	ClassVirtualAlias:   "virtual alias",
	ClassVirtualMailbox: "virtual mailbox",
	ClassRelay:          "relay",
	ClassDefault:        "default",
}

// String names the class: "local", "virtual alias", "virtual mailbox",
// "relay", "default".
func (c Class) String() string {
	if c > 0 && int(c) < len(classNames) {
		return classNames[c]
	}
	return fmt.Sprintf("class(%d)", int(c))
}

// Transport names with a meaning of their own in resolution.
const (
	TransportError   = "error"   // the nexthop is the reason for a bounce
	TransportRetry   = "retry"   // the nexthop is the reason for a deferral
	TransportDiscard = "discard" // the mail is dropped
)

// undeliverable is the reason an error: or retry: entry without text gives.
const undeliverable = "Address is undeliverable"

// virtualAliasUnknown is the bounce reason for an address in a virtual
// alias domain that virtual_alias_maps did not rewrite.
const virtualAliasUnknown = "User unknown in virtual alias table"

// Resolver resolves addresses with one Config. It is safe for concurrent
// use.
type Resolver struct {
	c Config
}

// New returns a Resolver for c.
func New(c Config) *Resolver {
	c.MyHostname = strings.ToLower(strings.TrimSuffix(c.MyHostname, "."))
	c.MyOrigin = strings.ToLower(strings.TrimSuffix(c.MyOrigin, "."))
	if c.MyOrigin == "" {
		c.MyOrigin = c.MyHostname
	}
	return &Resolver{c: c}
}

// Config returns the configuration the resolver was made with.
func (r *Resolver) Config() Config { return r.c }

// Result is where a recipient goes.
type Result struct {
	Class     Class
	Transport string // master.cf service to deliver with ("smtp", "local", "error", "discard", "retry", …)
	Nexthop   string // domain, "[host]:port", local host name, or the error text for error:/retry:
	Recipient string // the address after canonical cleanup (source route stripped, percent hack/bang path if enabled, trailing dot removed)
}

// Resolve decides how rcpt is delivered. An error is temporary (a table
// failed): callers defer or answer 4xx.
func (r *Resolver) Resolve(ctx context.Context, rcpt string) (Result, error) {
	recipient, domain, local, err := r.clean(ctx, rcpt)
	if err != nil {
		return Result{}, err
	}
	res := Result{Recipient: recipient}
	var transport, param string
	switch {
	case local:
		res.Class, transport, param = ClassLocal, r.c.LocalTransport, "local_transport"
		res.Nexthop = domain
	default:
		if res.Class, err = r.remoteClass(ctx, domain); err != nil {
			return Result{}, err
		}
		switch res.Class {
		case ClassVirtualAlias:
			// Nothing overrides this: an address in a virtual alias
			// domain that reached the resolver was not in the table.
			res.Transport, res.Nexthop = TransportError, virtualAliasUnknown
			return res, nil
		case ClassVirtualMailbox:
			transport, param = r.c.VirtualTransport, "virtual_transport"
			res.Nexthop = domain
		case ClassRelay:
			transport, param = r.c.RelayTransport, "relay_transport"
			res.Nexthop = r.relayNexthop(domain)
		default:
			transport, param = r.c.DefaultTransport, "default_transport"
			res.Nexthop = r.relayNexthop(domain)
		}
	}
	name, hop, _ := strings.Cut(transport, ":")
	if name == "" {
		return Result{}, fmt.Errorf("resolve <%s>: parameter %s: a null transport is not allowed", rcpt, param)
	}
	res.Transport = name
	if hop != "" {
		res.Nexthop = hop
	}
	if r.c.TransportMaps != nil {
		if err := r.transportLookup(ctx, &res, domain); err != nil {
			return Result{}, err
		}
	}
	return res, nil
}

func (r *Resolver) relayNexthop(domain string) string {
	if r.c.Relayhost != "" {
		return r.c.Relayhost
	}
	return domain
}

// Class classifies a domain ("" = the local machine). A table failure
// gives an error.
func (r *Resolver) Class(ctx context.Context, domain string) (Class, error) {
	domain = strings.ToLower(strings.TrimSuffix(domain, "."))
	if domain == "" {
		return ClassLocal, nil
	}
	local, err := r.localDestination(ctx, domain)
	if err != nil {
		return 0, err
	}
	if local {
		return ClassLocal, nil
	}
	return r.remoteClass(ctx, domain)
}

// remoteClass classifies a domain that is not local.
func (r *Resolver) remoteClass(ctx context.Context, domain string) (Class, error) {
	for _, l := range []struct {
		list  *matchlist.Domains
		class Class
		param string
	}{
		{r.c.VirtualAliasDomains, ClassVirtualAlias, "virtual_alias_domains"},
		{r.c.VirtualMailboxDomains, ClassVirtualMailbox, "virtual_mailbox_domains"},
		{r.c.RelayDomains, ClassRelay, "relay_domains"},
	} {
		hit, err := l.list.Match(ctx, domain)
		if err != nil {
			return 0, fmt.Errorf("%s lookup failure: %w", l.param, err)
		}
		if hit {
			return l.class, nil
		}
	}
	return ClassDefault, nil
}

// IsLocalDomain reports whether domain is $myorigin, in $mydestination, or
// an address literal of this machine: the condition for the bare "user"
// lookups of virtual(5) and canonical(5). An empty domain is local. A
// table failure counts as "no".
func (r *Resolver) IsLocalDomain(ctx context.Context, domain string) bool {
	domain = strings.ToLower(strings.TrimSuffix(domain, "."))
	if domain == "" || domain == r.c.MyOrigin {
		return true
	}
	local, err := r.localDestination(ctx, domain)
	return err == nil && local
}

// localDestination reports whether a lower-cased domain is delivered on
// this machine: in mydestination or one of its address literals.
func (r *Resolver) localDestination(ctx context.Context, domain string) (bool, error) {
	if strings.HasPrefix(domain, "[") {
		return r.ownLiteral(domain), nil
	}
	if r.c.MyDestination == nil {
		return false, nil
	}
	hit, err := r.c.MyDestination.Match(ctx, domain)
	if err != nil {
		return false, fmt.Errorf("mydestination lookup failure: %w", err)
	}
	return hit, nil
}

// ownLiteral reports whether "[1.2.3.4]" or "[ipv6:…]" is one of this
// machine's addresses.
func (r *Resolver) ownLiteral(literal string) bool {
	s, ok := strings.CutSuffix(strings.TrimPrefix(literal, "["), "]")
	if !ok {
		return false
	}
	if len(s) > 5 && strings.EqualFold(s[:5], "ipv6:") {
		s = s[5:]
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return false
	}
	return slices.Contains(r.c.LocalAddrs, a.Unmap().WithZone(""))
}
