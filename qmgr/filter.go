package qmgr

import (
	"fmt"
	"strings"

	"github.com/postern-mta/postern/internal/addr"
	"github.com/postern-mta/postern/internal/dsn"
	"github.com/postern-mta/postern/queue"
)

// Content filters (content_filter(5), Postfix's FILTER_README). A message
// whose queue file names a content filter, "transport:nexthop" in its
// "filter" attribute (cleanup writes it, from content_filter or a FILTER
// action), goes with all its recipients to that transport and next hop
// instead of where the resolver would send them; the filter inspects it
// and injects it again (typically into an smtpd that does not filter).
// The address resolver is not asked: recipients go to the filter as they
// are, even those it would bounce, since the filter may change them. The
// rest is as for any transport: the scheduler's windows and limits,
// defer_transports, and "mail transport unavailable" when the transport
// has no agent (it is not in master.cf).

// attrFilter is the queue file attribute that names a message's content
// filter.
const attrFilter = "filter"

// filterFailure defers the mail of a message whose filter cannot be
// used: the transport it names is not a service name.
var filterFailure = &dsn.Status{Code: 451, Enhanced: "4.3.5", Text: "mail system configuration error"}

// messageFilter is an envelope's content filter: its last "filter"
// attribute, as in Postfix, where a later filter record overrides an
// earlier one.
func messageFilter(attrs []queue.Attr) string {
	f := ""
	for _, a := range attrs {
		if a.Name == attrFilter {
			f = strings.TrimSpace(a.Value)
		}
	}
	return f
}

// contentFilter is a parsed "transport:nexthop" filter.
type contentFilter struct {
	transport string
	nexthop   string // "" : default_filter_nexthop, else the recipient's domain
}

// parseFilter splits a filter into transport and next hop. The transport
// must be a service name: it becomes a socket path (private/TRANSPORT).
func parseFilter(v string) (contentFilter, error) {
	name, hop, _ := strings.Cut(v, ":")
	f := contentFilter{transport: strings.TrimSpace(name), nexthop: strings.TrimSpace(hop)}
	if f.transport == "" || f.transport == "." || f.transport == ".." || strings.ContainsAny(f.transport, "/\x00") {
		return contentFilter{}, fmt.Errorf("bad content filter %q: need transport:nexthop with a master.cf service name", v)
	}
	return f, nil
}

// route is where a recipient of a filtered message goes: the filter's
// transport, and its next hop; without one, default_filter_nexthop, or
// else the recipient's domain (the local host name for an address without
// one), as Postfix does.
func (f contentFilter) route(rcpt, defaultNexthop, myhostname string) (transport, nexthop string) {
	switch {
	case f.nexthop != "":
		return f.transport, f.nexthop
	case defaultNexthop != "":
		return f.transport, defaultNexthop
	}
	if d := addr.Domain(rcpt); d != "" {
		return f.transport, d
	}
	return f.transport, myhostname
}
