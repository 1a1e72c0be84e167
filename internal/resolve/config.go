package resolve

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/postern-mta/postern/internal/config"
	"github.com/postern-mta/postern/internal/maps"
	"github.com/postern-mta/postern/internal/matchlist"
)

// Config is everything the resolver needs, read once at a daemon's start.
type Config struct {
	MyHostname, MyOrigin, MyDomain string
	MyDestination                  *matchlist.Domains
	LocalAddrs                     []netip.Addr // inet_interfaces + proxy_interfaces (for user@[1.2.3.4])
	VirtualAliasDomains            *matchlist.Domains
	VirtualMailboxDomains          *matchlist.Domains
	RelayDomains                   *matchlist.Domains
	// "transport[:nexthop]"
	LocalTransport, VirtualTransport, RelayTransport, DefaultTransport string
	TransportMaps                                                      maps.Table // nil: none
	Relayhost                                                          string
	RecipientDelimiter                                                 string
	TransportParentMatches                                             bool // "transport_maps" is in parent_domain_matches_subdomains
	SwapBangpath, AllowPercentHack                                     bool
	DeferTransports                                                    []string
}

// ReadConfig reads everything above from main.cf. It is meant for a daemon's
// main.go (smtpd, cleanup, qmgr share it so the rules are read one way).
// Tables are opened with maps.DefaultOptions; warnings about them go to the
// standard logger.
func ReadConfig(cfg *config.Config) (Config, error) {
	return ReadConfigOptions(cfg, maps.DefaultOptions())
}

// ReadConfigOptions is ReadConfig with the options tables are opened with
// (a daemon passes its own Warn function).
func ReadConfigOptions(cfg *config.Config, opt maps.Options) (Config, error) {
	r := cfg.Reader()
	c := Config{
		MyHostname:         strings.ToLower(r.String("myhostname")),
		MyOrigin:           strings.ToLower(r.String("myorigin")),
		MyDomain:           strings.ToLower(r.String("mydomain")),
		LocalTransport:     r.String("local_transport"),
		VirtualTransport:   r.String("virtual_transport"),
		RelayTransport:     r.String("relay_transport"),
		DefaultTransport:   r.String("default_transport"),
		Relayhost:          r.String("relayhost"),
		RecipientDelimiter: r.String("recipient_delimiter"),
		SwapBangpath:       r.Bool("swap_bangpath"),
		AllowPercentHack:   r.Bool("allow_percent_hack"),
		DeferTransports:    r.List("defer_transports"),
	}
	parents := r.List("parent_domain_matches_subdomains")
	inet := r.List("inet_interfaces")
	proxy := r.List("proxy_interfaces")
	lists := []struct {
		param string
		dst   **matchlist.Domains
	}{
		{"mydestination", &c.MyDestination},
		{"virtual_alias_domains", &c.VirtualAliasDomains},
		{"virtual_mailbox_domains", &c.VirtualMailboxDomains},
		{"relay_domains", &c.RelayDomains},
	}
	items := make([][]string, len(lists))
	for i, l := range lists {
		items[i] = r.List(l.param)
	}
	transportMaps := r.List("transport_maps")
	if err := r.Err(); err != nil {
		return Config{}, err
	}
	for i, l := range lists {
		d, err := matchlist.NewDomains(items[i], slices.Contains(parents, l.param), opt)
		if err != nil {
			return Config{}, fmt.Errorf("%s: %w", l.param, err)
		}
		*l.dst = d
	}
	if len(transportMaps) > 0 {
		t, err := maps.OpenList(transportMaps, opt)
		if err != nil {
			return Config{}, fmt.Errorf("transport_maps: %w", err)
		}
		c.TransportMaps = t
	}
	c.TransportParentMatches = slices.Contains(parents, "transport_maps")
	var err error
	if c.LocalAddrs, err = interfaceAddrs("inet_interfaces", inet); err != nil {
		return Config{}, err
	}
	more, err := interfaceAddrs("proxy_interfaces", proxy)
	if err != nil {
		return Config{}, err
	}
	c.LocalAddrs = append(c.LocalAddrs, more...)
	return c, nil
}

// interfaceAddrs turns an inet_interfaces style list into addresses: "all"
// is every address of this machine, "loopback-only" the loopback
// addresses, a host name what the system resolver (normally /etc/hosts)
// says it is.
func interfaceAddrs(param string, items []string) ([]netip.Addr, error) {
	var out []netip.Addr
	for _, it := range items {
		switch strings.ToLower(it) {
		case "all":
			addrs, err := net.InterfaceAddrs()
			if err != nil {
				return nil, fmt.Errorf("%s = all: list this machine's addresses: %w", param, err)
			}
			for _, a := range addrs {
				if n, ok := a.(*net.IPNet); ok {
					if ip, ok := netip.AddrFromSlice(n.IP); ok {
						out = append(out, ip.Unmap())
					}
				}
			}
			continue
		case "loopback-only":
			out = append(out, netip.MustParseAddr("127.0.0.1"), netip.IPv6Loopback())
			continue
		}
		s := strings.TrimSuffix(strings.TrimPrefix(it, "["), "]")
		if a, err := netip.ParseAddr(s); err == nil {
			out = append(out, a.Unmap())
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", s)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("%s: host %s: %w", param, s, err)
		}
		for _, ip := range ips {
			out = append(out, ip.Unmap())
		}
	}
	return out, nil
}
