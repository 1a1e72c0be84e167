package cleanup

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/postern-mta/postern/internal/maps"
	"github.com/postern-mta/postern/internal/matchlist"
	"github.com/postern-mta/postern/internal/proto"
)

// Config is everything the cleanup service uses, read from main.cf by
// Serve (readConfig). Deeper code never looks parameters up. A nil table
// means the parameter is empty.
type Config struct {
	QueueDir       string
	HashQueueNames []string
	HashQueueDepth int

	MyHostname string
	MyOrigin   string

	// Limits on what comes in.
	HeaderSizeLimit         int   // header_size_limit: bytes kept of one header
	HopcountLimit           int   // hopcount_limit: Received: headers before "too many hops"
	LineLengthLimit         int   // line_length_limit: body_checks see lines in pieces of this size
	MessageSizeLimit        int64 // message_size_limit (0: none)
	BodyChecksSizeLimit     int64 // body_checks_size_limit: bytes of each body part checked
	HeaderAddressTokenLimit int   // header_address_token_limit: addresses parsed per header
	MIMENestingLimit        int   // mime_nesting_limit
	DisableMIME             bool  // disable_mime_input_processing

	// Content checks.
	HeaderChecks, MIMEHeaderChecks, NestedHeaderChecks, BodyChecks maps.Table

	// Address rewriting.
	Canonical, SenderCanonical, RecipientCanonical                      maps.Table
	CanonicalClasses, SenderCanonicalClasses, RecipientCanonicalClasses classes
	MasqueradeDomains                                                   []string
	MasqueradeExceptions                                                map[string]bool // lower-cased local parts
	MasqueradeClasses                                                   classes
	VirtualAlias                                                        maps.Table
	ExpansionLimit                                                      int // virtual_alias_expansion_limit
	RecursionLimit                                                      int // virtual_alias_recursion_limit
	PropagateCanonical, PropagateVirtual                                bool
	RecipientDelimiter                                                  string
	AlwaysBcc                                                           string
	SenderBcc, RecipientBcc                                             maps.Table
	EnableOriginalRecipient                                             bool
	DupFilterLimit                                                      int

	// ContentFilter is content_filter: "transport:nexthop" for mail
	// whose submitter states none (see message.contentFilter).
	ContentFilter string

	// Headers.
	DelayWarning                time.Duration // delay_warning_time (0: none)
	UndisclosedRecipientsHeader string        // added when there is no To:/Cc: (empty: none)
	AlwaysAddMissingHeaders     bool
	RemoteHeaderRewriteDomain   string
	// LocalHeaderRewrite says whether the headers of mail from this SMTP
	// client (its attributes) are completed and rewritten as local
	// mail's are (local_header_rewrite_clients). Nil: never.
	LocalHeaderRewrite func(ctx context.Context, attrs []proto.Attr) bool
	// IsLocalDomain is the condition for the bare "user" lookups of
	// canonical and virtual tables (internal/resolve). Nil: never.
	IsLocalDomain func(ctx context.Context, domain string) bool

	// Services and times.
	QmgrService   string // queue_service_name
	BounceService string // bounce_service_name
	IPCTimeout    time.Duration
	StopTimeout   time.Duration
}

func (c *Config) localDomain(ctx context.Context) func(string) bool {
	if c.IsLocalDomain == nil {
		return nil
	}
	return func(d string) bool { return c.IsLocalDomain(ctx, d) }
}

// checksConfigured reports whether any content check table is set.
func (c *Config) checksConfigured() bool {
	return c.HeaderChecks != nil || c.MIMEHeaderChecks != nil || c.NestedHeaderChecks != nil || c.BodyChecks != nil
}

// headerClients builds the local_header_rewrite_clients test: the
// headers of mail from a client are rewritten as local mail's when one of
// the items says so:
//
//	permit_inet_interfaces     the client address is one of inet_interfaces
//	permit_mynetworks          the client address matches mynetworks
//	permit_sasl_authenticated  the client logged in
//	static:all                 every client
//	check_address_map TABLE    the client address is found in TABLE
func headerClients(items []string, ifaces []netip.Addr, mynetworks *matchlist.Networks, opt maps.Options) (func(context.Context, []proto.Attr) bool, error) {
	type rule struct {
		kind  string
		table maps.Table
	}
	var rules []rule
	for i := 0; i < len(items); i++ {
		it := strings.ToLower(items[i])
		switch {
		case it == "permit_inet_interfaces", it == "permit_mynetworks", it == "permit_sasl_authenticated":
			rules = append(rules, rule{kind: it})
		case it == "static:all":
			rules = append(rules, rule{kind: "all"})
		case it == "check_address_map":
			if i+1 >= len(items) {
				return nil, fmt.Errorf("local_header_rewrite_clients: check_address_map needs a table")
			}
			i++
			t, err := maps.Open(items[i], opt)
			if err != nil {
				return nil, fmt.Errorf("local_header_rewrite_clients: %w", err)
			}
			rules = append(rules, rule{kind: "table", table: t})
		default:
			return nil, fmt.Errorf("local_header_rewrite_clients: unknown item %q", items[i])
		}
	}
	if len(rules) == 0 {
		return nil, nil
	}
	return func(ctx context.Context, attrs []proto.Attr) bool {
		ip, err := netip.ParseAddr(strings.TrimPrefix(proto.Lookup(attrs, proto.AttrClientAddr), "IPv6:"))
		haveIP := err == nil
		if haveIP {
			ip = ip.Unmap()
		}
		for _, r := range rules {
			switch r.kind {
			case "all":
				return true
			case "permit_sasl_authenticated":
				if proto.Lookup(attrs, proto.AttrSASLUsername) != "" {
					return true
				}
			case "permit_inet_interfaces":
				if !haveIP {
					continue
				}
				for _, a := range ifaces {
					if a == ip {
						return true
					}
				}
			case "permit_mynetworks":
				if haveIP && mynetworks != nil {
					if ok, err := mynetworks.Match(ctx, ip, proto.Lookup(attrs, proto.AttrClientName)); err == nil && ok {
						return true
					}
				}
			case "table":
				if haveIP {
					if res, err := maps.LookupClient(ctx, r.table, "", ip.String()); err == nil && res.Found {
						return true
					}
				}
			}
		}
		return false
	}, nil
}
