package smtp

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Config is everything the agent uses from main.cf, read once by Serve or
// ServeLMTP (see readConfig in main.go). Tests fill it directly.
type Config struct {
	LMTP       bool   // speak LMTP (LHLO, one reply per recipient after DATA)
	QueueDir   string // queue_directory
	HashQueues []string
	HashDepth  int
	MyHostname string // for loop detection and the relay name of Unix sockets
	HeloName   string // smtp_helo_name / lmtp_lhlo_name
	// DefaultPort is the port of a next hop that names none
	// (smtp_tcp_port / lmtp_tcp_port).
	DefaultPort int

	Timeouts Timeouts
	DNS      DNSConfig

	IPv4, IPv6         bool   // inet_protocols
	AddressPreference  string // "any", "ipv4", "ipv6"
	MXAddressLimit     int    // 0: no limit
	MXSessionLimit     int    // 0: no limit
	RandomizeAddresses bool   // shuffle MX hosts of equal preference
	DeferIfNoMXAddress bool
	FallbackRelay      []string
	// LocalAddrs are this host's addresses (inet_interfaces,
	// proxy_interfaces): an MX host there on the default port is us.
	LocalAddrs []netip.Addr
	BindAddr4  netip.Addr // smtp_bind_address, zero: any
	BindAddr6  netip.Addr

	AlwaysEHLO, NeverEHLO bool
	DiscardEHLO           map[string]bool // upper-case keywords to ignore
	Skip5xxGreeting       bool
	SkipQuitResponse      bool
	LineLengthLimit       int // 0: no limit

	TLS   TLSConfig
	Cache CacheConfig

	// IdleTimeout is how long a connection from qmgr may wait for its next
	// request (max_idle).
	IdleTimeout time.Duration
	// Grace is how long a stop lets deliveries under way finish
	// (postern_stop_timeout).
	Grace time.Duration
}

// Timeouts are the per-stage limits of a conversation.
type Timeouts struct {
	Connect, Helo, StartTLS, Mail, Rcpt, DataInit, DataXfer, DataDone, Rset, Quit time.Duration
}

// DNSConfig says how names are looked up.
type DNSConfig struct {
	// Servers are host:port pairs; empty means those of /etc/resolv.conf.
	Servers  []string
	Timeout  time.Duration // one query to one server
	Attempts int           // rounds over the servers
	// UseDNS and Native are smtp_host_lookup: dns, native or both (DNS
	// first). MX records always come from DNS.
	UseDNS, Native bool
}

// TLS security levels, weakest first.
const (
	tlsNone = iota
	tlsMay
	tlsEncrypt
	tlsVerify
	tlsSecure
)

// TLSConfig is the client's TLS policy.
type TLSConfig struct {
	Level      int // tlsNone … tlsSecure
	CAFile     string
	CAPath     string
	CertFile   string
	KeyFile    string
	MinVersion uint16   // from smtp_tls_protocols / smtp_tls_mandatory_protocols
	Match      []string // names a verified certificate must match: "hostname", "nexthop", "dot-nexthop" or literal names
	ServerName string   // SNI: "", "hostname", "nexthop" or a literal name
	LogLevel   int
}

// CacheConfig governs connection reuse.
type CacheConfig struct {
	OnDemand     bool          // smtp_connection_cache_on_demand
	Destinations []string      // smtp_connection_cache_destinations (lower case)
	IdleLimit    time.Duration // smtp_connection_cache_time_limit
	ReuseTime    time.Duration // smtp_connection_reuse_time_limit
	ReuseCount   int           // smtp_connection_reuse_count_limit, 0: no limit
}

// parseTLSLevel reads smtp_tls_security_level. dane and fingerprint are
// not implemented: dane falls back to may (as Postfix does for a
// destination without usable TLSA records), fingerprint is refused.
func parseTLSLevel(s string) (int, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "none":
		return tlsNone, nil
	case "may", "dane":
		return tlsMay, nil
	case "encrypt":
		return tlsEncrypt, nil
	case "verify":
		return tlsVerify, nil
	case "secure":
		return tlsSecure, nil
	}
	return 0, fmt.Errorf("unsupported TLS security level %q (use none, may, encrypt, verify or secure)", s)
}

var tlsVersions = []struct {
	name string
	v    uint16
}{
	{"TLSv1", tls.VersionTLS10},
	{"TLSv1.1", tls.VersionTLS11},
	{"TLSv1.2", tls.VersionTLS12},
	{"TLSv1.3", tls.VersionTLS13},
}

// parseTLSProtocols reads a Postfix protocol list (">=TLSv1.2",
// "!SSLv2, !SSLv3, !TLSv1", "TLSv1.2 TLSv1.3") and returns the lowest
// version it allows. SSL versions are never used.
func parseTLSProtocols(items []string) (uint16, error) {
	lowest := uint16(tls.VersionTLS10)
	var allowed []uint16
	excluded := map[uint16]bool{}
	for _, it := range items {
		switch {
		case strings.HasPrefix(it, ">="):
			v, ok := tlsVersion(it[2:])
			if !ok {
				return 0, fmt.Errorf("unknown TLS protocol %q", it)
			}
			lowest = max(lowest, v)
		case strings.HasPrefix(it, "<="):
			if _, ok := tlsVersion(it[2:]); !ok {
				return 0, fmt.Errorf("unknown TLS protocol %q", it)
			}
		case strings.HasPrefix(it, "!"):
			if v, ok := tlsVersion(it[1:]); ok {
				excluded[v] = true
			} else if !strings.HasPrefix(it[1:], "SSLv") {
				return 0, fmt.Errorf("unknown TLS protocol %q", it)
			}
		default:
			if v, ok := tlsVersion(it); ok {
				allowed = append(allowed, v)
			} else if !strings.HasPrefix(it, "SSLv") {
				return 0, fmt.Errorf("unknown TLS protocol %q", it)
			}
		}
	}
	if len(allowed) > 0 {
		low := uint16(tls.VersionTLS13)
		for _, v := range allowed {
			low = min(low, v)
		}
		lowest = max(lowest, low)
	}
	for excluded[lowest] && lowest < tls.VersionTLS13 {
		lowest++
	}
	return lowest, nil
}

func tlsVersion(name string) (uint16, bool) {
	for _, v := range tlsVersions {
		if strings.EqualFold(v.name, name) {
			return v.v, true
		}
	}
	return 0, false
}

// parsePort reads a port number or service name (smtp_tcp_port, or the
// port of a next hop).
func parsePort(s string) (int, error) {
	switch strings.ToLower(s) {
	case "smtp":
		return 25, nil
	case "lmtp":
		return 24, nil
	case "submission":
		return 587, nil
	case "smtps", "submissions":
		return 465, nil
	}
	if n, err := strconv.Atoi(s); err == nil {
		if n <= 0 || n > 65535 {
			return 0, fmt.Errorf("port %d out of range", n)
		}
		return n, nil
	}
	n, err := net.LookupPort("tcp", s)
	if err != nil {
		return 0, fmt.Errorf("unknown service %q", s)
	}
	return n, nil
}

// parseProtocols reads inet_protocols.
func parseProtocols(items []string) (v4, v6 bool, err error) {
	for _, it := range items {
		switch strings.ToLower(it) {
		case "all":
			v4, v6 = true, true
		case "ipv4":
			v4 = true
		case "ipv6":
			v6 = true
		default:
			return false, false, fmt.Errorf("unknown inet_protocols value %q", it)
		}
	}
	if !v4 && !v6 {
		return false, false, fmt.Errorf("inet_protocols enables no protocol")
	}
	return v4, v6, nil
}

// localAddrs turns inet_interfaces and proxy_interfaces into addresses:
// "all" is every interface's, "loopback-only" the loopback ones, a host
// name is skipped (no lookups at start).
func localAddrs(items []string) []netip.Addr {
	var out []netip.Addr
	for _, it := range items {
		switch strings.ToLower(it) {
		case "all":
			ifas, err := net.InterfaceAddrs()
			if err != nil {
				continue
			}
			for _, a := range ifas {
				if p, err := netip.ParsePrefix(a.String()); err == nil {
					out = append(out, p.Addr().Unmap())
				}
			}
		case "loopback-only":
			out = append(out, netip.MustParseAddr("127.0.0.1"), netip.IPv6Loopback())
		default:
			if a, err := netip.ParseAddr(strings.Trim(it, "[]")); err == nil {
				out = append(out, a.Unmap())
			}
		}
	}
	return out
}
