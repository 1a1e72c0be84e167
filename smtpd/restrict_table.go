package smtpd

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"

	"github.com/postern-mta/postern/internal/maps"
	"github.com/postern-mta/postern/internal/matchlist"
	"github.com/postern-mta/postern/internal/resolve"
)

// restrictionFunc is one named restriction. It reads the session through
// c.st, its arguments through s, and says what it decided; an error is a
// table failure (errTempLookup) or a configuration error (errConfig).
type restrictionFunc func(c *check, s *step, replyName, replyClass, defACL string) (verdict, error)

// step is one parsed element of a restriction list.
type step struct {
	name         string
	fn           restrictionFunc
	arg          string     // the argument as written (table spec, domain, …)
	table        maps.Table // check_*_access
	warnIfReject bool
}

// restrictionDef describes a restriction name: how many list elements
// follow it as arguments, whether the argument is a table, and the code.
type restrictionDef struct {
	arg   bool // one argument follows
	table bool // ... and it is a lookup table, opened at start
	fn    restrictionFunc
}

// registry holds every restriction smtpd knows, by its main.cf name.
// Later features add theirs here (in their own files, from init).
var registry = map[string]restrictionDef{}

func register(name string, d restrictionDef) { registry[name] = d }

// Stages of the SMTP dialogue that have restriction lists.
type stage int

const (
	stageClient stage = iota
	stageHelo
	stageSender
	stageRelay
	stageRecipient
	stageData
	stageEOD
	stageETRN
	numStages
)

// stageInfo names each list and its implicit access table restriction
// (what a bare "type:table" in the list means).
var stageInfo = [numStages]struct {
	param  string
	defACL string
}{
	stageClient:    {"smtpd_client_restrictions", "check_client_access"},
	stageHelo:      {"smtpd_helo_restrictions", "check_helo_access"},
	stageSender:    {"smtpd_sender_restrictions", "check_sender_access"},
	stageRelay:     {"smtpd_relay_restrictions", "check_recipient_access"},
	stageRecipient: {"smtpd_recipient_restrictions", "check_recipient_access"},
	stageData:      {"smtpd_data_restrictions", ""},
	stageEOD:       {"smtpd_end_of_data_restrictions", ""},
	stageETRN:      {"smtpd_etrn_restrictions", "check_etrn_access"},
}

// AddrResolver is what the restrictions need from internal/resolve
// (*resolve.Resolver has it).
type AddrResolver interface {
	Resolve(ctx context.Context, addr string) (resolve.Result, error)
	IsLocalDomain(ctx context.Context, domain string) bool
}

// DNS is the resolver of the reject_unknown_* restrictions and of the
// client's host name (*net.Resolver has it).
type DNS interface {
	LookupMX(ctx context.Context, name string) ([]*net.MX, error)
	LookupHost(ctx context.Context, host string) ([]string, error)
	LookupAddr(ctx context.Context, addr string) ([]string, error)
}

// CheckConfig is the configuration of the restriction engine.
type CheckConfig struct {
	// Lists are the restriction lists, by parameter name
	// ("smtpd_recipient_restrictions": items).
	Lists map[string][]string
	// Classes are smtpd_restriction_classes: name → its list.
	Classes map[string][]string

	DelayReject             bool
	RelayBeforeRecipient    bool
	RejectUnlistedRecipient bool
	RejectUnlistedSender    bool
	ShowUnknownTable        bool
	SoftBounce              bool
	NullAccessKey           string
	RecipientDelimiter      string
	AccessParentMatches     bool // smtpd_access_maps is in parent_domain_matches_subdomains
	DoubleBounceSender      string
	LogPermitActions        []string

	AccessMapRejectCode      int
	AccessMapDeferCode       int
	RejectCode               int
	DeferCode                int
	RelayDomainsRejectCode   int
	InvalidHostnameCode      int
	NonFQDNCode              int
	UnknownAddressCode       int
	UnknownClientCode        int
	UnknownHostnameCode      int
	UnknownLocalRcptCode     int
	UnknownRelayRcptCode     int
	UnknownVirtualAliasCode  int
	UnknownVirtualMboxCode   int
	MultiRecipientBounceCode int
	PlaintextCode            int
	UnknownAddrTempfail      string // unknown_address_tempfail_action
	UnknownHeloTempfail      string // unknown_helo_hostname_tempfail_action

	MyNetworks     *matchlist.Networks
	InetAddrs      []netip.Addr // permit_inet_interfaces
	Resolver       AddrResolver
	DNS            DNS
	OpenTable      func(spec string) (maps.Table, error) // opens check_*_access tables
	LocalRcptMaps  maps.Table                            // nil: no check
	VirtAliasMaps  maps.Table
	VirtMboxMaps   maps.Table
	RelayRcptMaps  maps.Table
	CanonicalMaps  maps.Table // canonical_maps, recipient_/sender_canonical_maps:
	RcptCanonMaps  maps.Table // an address they know is a valid one
	SenderCanonMap maps.Table
	Warn           func(format string, args ...any)
}

// Checker is the parsed restriction engine, shared by all sessions.
type Checker struct {
	CheckConfig
	lists     [numStages][]step
	classes   map[string][]step
	logPermit map[string]bool
	dynamic   sync.Map // access table value → []step
}

// NewChecker parses every list. An unknown restriction name or a table
// that cannot be opened is an error naming the parameter.
func NewChecker(cfg CheckConfig) (*Checker, error) {
	ck := &Checker{CheckConfig: cfg, classes: map[string][]step{}, logPermit: map[string]bool{}}
	if ck.Warn == nil {
		ck.Warn = func(string, ...any) {}
	}
	if ck.NullAccessKey == "" {
		ck.NullAccessKey = "<>"
	}
	if ck.OpenTable == nil {
		ck.OpenTable = func(spec string) (maps.Table, error) { return maps.Open(spec, maps.DefaultOptions()) }
	}
	for _, a := range cfg.LogPermitActions {
		ck.logPermit[strings.ToLower(a)] = true
	}
	// Class names first, so that lists may refer to them.
	for name := range cfg.Classes {
		ck.classes[strings.ToLower(name)] = nil
	}
	for name, items := range cfg.Classes {
		steps, err := ck.parse(items, "check_recipient_access", true)
		if err != nil {
			return nil, fmt.Errorf("restriction class %s: %w", name, err)
		}
		ck.classes[strings.ToLower(name)] = steps
	}
	for i, info := range stageInfo {
		steps, err := ck.parse(cfg.Lists[info.param], info.defACL, true)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", info.param, err)
		}
		ck.lists[i] = steps
	}
	if !hasRelayControl(ck.lists[stageRelay]) && !hasRelayControl(ck.lists[stageRecipient]) {
		return nil, fmt.Errorf("the smtpd_relay_restrictions and smtpd_recipient_restrictions parameters do not specify at least one working instance of reject, defer, reject_unauth_destination or defer_unauth_destination")
	}
	return ck, nil
}

func (ck *Checker) warnf(format string, args ...any) { ck.Warn(format, args...) }

// hasRelayControl reports whether a list can refuse relaying, as Postfix
// demands of the relay and recipient restrictions together.
func hasRelayControl(steps []step) bool {
	for _, s := range steps {
		switch s.name {
		case "reject", "defer", "reject_unauth_destination", "defer_unauth_destination",
			"defer_if_permit", "reject_unlisted_recipient", "check_relay_domains":
			return true
		}
	}
	return false
}

// parse turns list items into steps. Tables are allowed only in lists
// from main.cf (atStart); a list taken from an access table value may
// name restrictions and classes but open no tables.
func (ck *Checker) parse(items []string, defACL string, atStart bool) ([]step, error) {
	var out []step
	for i := 0; i < len(items); i++ {
		item := strings.TrimSpace(items[i])
		if item == "" {
			continue
		}
		name := strings.ToLower(item)
		if name == "warn_if_reject" {
			out = append(out, step{name: name, warnIfReject: true})
			continue
		}
		if strings.Contains(item, ":") {
			if !atStart {
				return nil, fmt.Errorf("lookup table %s inside an access table value: define a restriction class and use its name", item)
			}
			if defACL == "" {
				return nil, fmt.Errorf("specify one of check_client_access, check_reverse_client_access, check_helo_access, check_sender_access, check_recipient_access, check_etrn_access before restriction %q", item)
			}
			name = defACL
			i--
		}
		if _, isClass := ck.classes[name]; isClass {
			out = append(out, step{name: name, fn: evalClass, arg: name})
			continue
		}
		def, ok := registry[name]
		if !ok {
			return nil, fmt.Errorf("unknown smtpd restriction: %q", item)
		}
		s := step{name: name, fn: def.fn}
		if def.arg {
			if i+1 >= len(items) {
				return nil, fmt.Errorf("restriction %s needs an argument", name)
			}
			i++
			s.arg = strings.TrimSpace(items[i])
			if def.table {
				if !strings.Contains(s.arg, ":") {
					return nil, fmt.Errorf("restriction %s: bad argument %q: need maptype:mapname", name, s.arg)
				}
				if !atStart {
					return nil, fmt.Errorf("lookup table %s inside an access table value: define a restriction class and use its name", s.arg)
				}
				t, err := ck.OpenTable(s.arg)
				if err != nil {
					return nil, fmt.Errorf("restriction %s %s: %w", name, s.arg, err)
				}
				s.table = t
			}
		}
		out = append(out, s)
	}
	return out, nil
}

// evalClass runs a restriction class.
func evalClass(c *check, s *step, replyName, replyClass, defACL string) (verdict, error) {
	steps := c.ck.classes[s.arg]
	return c.evalList(steps, replyName, replyClass, defACL), nil
}

// valueSteps parses the value of an access table entry that names
// restrictions, caching the result.
func (ck *Checker) valueSteps(value, defACL string) ([]step, error) {
	key := defACL + "\x00" + value
	if v, ok := ck.dynamic.Load(key); ok {
		return v.([]step), nil
	}
	steps, err := ck.parse(splitRestrictions(value), defACL, false)
	if err != nil {
		return nil, err
	}
	ck.dynamic.Store(key, steps)
	return steps, nil
}

// splitRestrictions splits a restriction list written in a table value.
func splitRestrictions(v string) []string {
	return strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' })
}
