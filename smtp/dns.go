package smtp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// resolver looks up MX and address records with its own DNS client, so
// that smtp_dns_server can point the agent at any server and a lookup
// tells "no such name" (bounce) from "no answer now" (defer).
type resolver struct {
	servers  []string
	timeout  time.Duration
	attempts int
	useDNS   bool
	native   bool
	udp, tcp *dns.Client
}

// lookupError is a failed lookup, worded as Postfix words it.
type lookupError struct {
	name, qtype string
	temp        bool // try again later
	noData      bool // the name exists but has no such records
}

func (e *lookupError) Error() string {
	why := "Host not found"
	switch {
	case e.temp:
		why = "Host not found, try again"
	case e.noData:
		why = "Host found but no data record of requested type"
	}
	return fmt.Sprintf("Name service error for name=%s type=%s: %s", e.name, e.qtype, why)
}

// errNullMX says a domain publishes a null MX (RFC 7505): it takes no mail.
var errNullMX = errors.New("null MX")

func newResolver(c DNSConfig) (*resolver, error) {
	r := &resolver{timeout: c.Timeout, attempts: c.Attempts, useDNS: c.UseDNS, native: c.Native}
	for _, s := range c.Servers {
		if _, _, err := net.SplitHostPort(s); err != nil {
			s = net.JoinHostPort(strings.Trim(s, "[]"), "53")
		}
		r.servers = append(r.servers, s)
	}
	// MX records always come from DNS, whatever smtp_host_lookup says.
	if len(r.servers) == 0 {
		cc, err := dns.ClientConfigFromFile("/etc/resolv.conf")
		if err != nil {
			// No resolv.conf: the resolver library's default too.
			cc = &dns.ClientConfig{Servers: []string{"127.0.0.1"}, Port: "53"}
		}
		for _, s := range cc.Servers {
			r.servers = append(r.servers, net.JoinHostPort(s, cc.Port))
		}
		if r.timeout == 0 && cc.Timeout > 0 {
			r.timeout = time.Duration(cc.Timeout) * time.Second
		}
		if r.attempts == 0 && cc.Attempts > 0 {
			r.attempts = cc.Attempts
		}
		if len(r.servers) == 0 {
			r.servers = []string{"127.0.0.1:53"}
		}
	}
	if r.timeout <= 0 {
		r.timeout = 5 * time.Second
	}
	if r.attempts <= 0 {
		r.attempts = 2
	}
	r.udp = &dns.Client{Net: "udp", Timeout: r.timeout, UDPSize: 4096}
	r.tcp = &dns.Client{Net: "tcp", Timeout: r.timeout}
	return r, nil
}

// query asks the servers in turn until one answers NOERROR or NXDOMAIN.
// Any other outcome, after every attempt, is a temporary failure.
func (r *resolver) query(ctx context.Context, name string, qtype uint16) (*dns.Msg, error) {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	m.SetEdns0(4096, false)
	last := errors.New("no DNS servers")
	for range r.attempts {
		for _, srv := range r.servers {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			in, _, err := r.udp.ExchangeContext(ctx, m, srv)
			if err == nil && in.Truncated {
				in, _, err = r.tcp.ExchangeContext(ctx, m, srv)
			}
			if err != nil {
				last = err
				continue
			}
			if in.Rcode == dns.RcodeSuccess || in.Rcode == dns.RcodeNameError {
				return in, nil
			}
			last = fmt.Errorf("%s answered %s", srv, dns.RcodeToString[in.Rcode])
		}
	}
	return nil, last
}

// mxHost is one MX record.
type mxHost struct {
	name string
	pref uint16
}

// lookupMX returns the MX records of domain (none when it has none), or
// errNullMX, or a *lookupError.
func (r *resolver) lookupMX(ctx context.Context, domain string) ([]mxHost, error) {
	in, err := r.query(ctx, domain, dns.TypeMX)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &lookupError{name: domain, qtype: "MX", temp: true}
	}
	if in.Rcode == dns.RcodeNameError {
		return nil, &lookupError{name: domain, qtype: "MX"}
	}
	var out []mxHost
	for _, rr := range in.Answer {
		if mx, ok := rr.(*dns.MX); ok {
			out = append(out, mxHost{name: strings.ToLower(strings.TrimSuffix(mx.Mx, ".")), pref: mx.Preference})
		}
	}
	if len(out) == 1 && out[0].name == "" {
		return nil, errNullMX
	}
	return out, nil
}

// lookupHost returns the addresses of host for the enabled protocols, in
// the order the answers gave them (IPv6 first when both are wanted).
func (r *resolver) lookupHost(ctx context.Context, host string, v4, v6 bool) ([]netip.Addr, error) {
	var addrs []netip.Addr
	var lerr *lookupError
	if r.useDNS {
		addrs, lerr = r.dnsHost(ctx, host, v4, v6)
		if len(addrs) > 0 {
			return addrs, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if !r.native || lerr.temp {
			return nil, lerr
		}
	}
	network := "ip"
	switch {
	case v4 && !v6:
		network = "ip4"
	case v6 && !v4:
		network = "ip6"
	}
	qtype := "A"
	if !v4 {
		qtype = "AAAA"
	}
	got, err := net.DefaultResolver.LookupNetIP(ctx, network, host)
	if err != nil {
		var de *net.DNSError
		temp := !errors.As(err, &de) || de.IsTemporary || de.IsTimeout
		return nil, &lookupError{name: host, qtype: qtype, temp: temp}
	}
	for _, a := range got {
		addrs = append(addrs, a.Unmap())
	}
	return addrs, nil
}

func (r *resolver) dnsHost(ctx context.Context, host string, v4, v6 bool) ([]netip.Addr, *lookupError) {
	var addrs []netip.Addr
	var types []uint16
	if v6 {
		types = append(types, dns.TypeAAAA)
	}
	if v4 {
		types = append(types, dns.TypeA)
	}
	var lerr *lookupError
	for _, t := range types {
		qtype := dns.TypeToString[t]
		in, err := r.query(ctx, host, t)
		if err != nil {
			lerr = &lookupError{name: host, qtype: qtype, temp: true}
			continue
		}
		n := len(addrs)
		for _, rr := range in.Answer {
			switch v := rr.(type) {
			case *dns.A:
				if a, ok := netip.AddrFromSlice(v.A.To4()); ok {
					addrs = append(addrs, a)
				}
			case *dns.AAAA:
				if a, ok := netip.AddrFromSlice(v.AAAA.To16()); ok {
					addrs = append(addrs, a.Unmap())
				}
			}
		}
		// A name that does not exist (NXDOMAIN) does not exist for any
		// type: that answer outweighs another type's temporary failure.
		if len(addrs) == n && (lerr == nil || !lerr.temp || in.Rcode == dns.RcodeNameError) {
			lerr = &lookupError{name: host, qtype: qtype, noData: in.Rcode == dns.RcodeSuccess}
		}
	}
	if len(addrs) > 0 {
		return addrs, nil
	}
	return nil, lerr
}
