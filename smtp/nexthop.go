package smtp

import (
	"errors"
	"fmt"
	"net/netip"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/postern-mta/postern/internal/config"
)

// maxNexthops bounds the destinations in one next-hop list.
const maxNexthops = 20

// dest is one destination of a next-hop list.
type dest struct {
	text string // as written, for messages and the connection cache key
	// host is the domain (MX lookup), the host name or the address
	// literal's text, without brackets.
	host string
	addr netip.Addr // set for an address literal
	port int        // 0: the default port
	mx   bool       // look up MX records
	unix string     // LMTP over a Unix socket: its path
}

// parseNexthops reads a next hop: one destination or, as transport(5)
// allows since Postfix 3.5, a list separated by commas or spaces.
//
//	domain, domain:port        MX lookup (SMTP only), then the port
//	[host], [host]:port        no MX lookup
//	[192.0.2.1], [ipv6:2001:db8::1]:25
//	inet:host:port             as host:port (LMTP's form)
//	unix:/path, unix:private/x a Unix socket, relative to the queue directory (LMTP)
func parseNexthops(s string, lmtp bool, queueDir string) ([]dest, error) {
	items := config.SplitList(s)
	if len(items) == 0 {
		return nil, errors.New("empty next-hop destination")
	}
	if len(items) > maxNexthops {
		return nil, fmt.Errorf("next-hop list of %d destinations (at most %d)", len(items), maxNexthops)
	}
	out := make([]dest, 0, len(items))
	for _, it := range items {
		d, err := parseNexthop(it, lmtp, queueDir)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

func parseNexthop(s string, lmtp bool, queueDir string) (dest, error) {
	d := dest{text: s}
	rest := s
	inet := false
	switch {
	case strings.HasPrefix(rest, "unix:"):
		if !lmtp {
			return d, fmt.Errorf("next hop %q: unix: destinations are for LMTP only", s)
		}
		p := rest[len("unix:"):]
		if p == "" {
			return d, fmt.Errorf("next hop %q: empty socket path", s)
		}
		if !filepath.IsAbs(p) {
			p = filepath.Join(queueDir, p)
		}
		d.unix = p
		return d, nil
	case strings.HasPrefix(rest, "inet:"):
		rest = rest[len("inet:"):]
		inet = true
	}
	var port string
	if strings.HasPrefix(rest, "[") {
		end := strings.IndexByte(rest, ']')
		if end < 0 {
			return d, fmt.Errorf("next hop %q: missing ']'", s)
		}
		d.host = rest[1:end]
		after := rest[end+1:]
		if after != "" {
			if after[0] != ':' {
				return d, fmt.Errorf("next hop %q: junk after ']'", s)
			}
			port = after[1:]
		}
		lit := d.host
		if len(lit) > 5 && strings.EqualFold(lit[:5], "ipv6:") {
			lit = lit[5:]
		}
		if a, err := netip.ParseAddr(lit); err == nil {
			d.addr, d.host = a.Unmap(), a.Unmap().String()
		}
	} else {
		host, p, found := strings.Cut(rest, ":")
		if found && strings.Contains(p, ":") {
			return d, fmt.Errorf("next hop %q: write an IPv6 address in brackets", s)
		}
		d.host, port = host, p
		if a, err := netip.ParseAddr(host); err == nil {
			d.addr, d.host = a.Unmap(), a.Unmap().String()
		} else {
			// LMTP never looks up MX records; neither does inet:.
			d.mx = !lmtp && !inet
		}
	}
	if port != "" {
		n, err := parsePort(port)
		if err != nil {
			return d, fmt.Errorf("next hop %q: %w", s, err)
		}
		d.port = n
	}
	if d.host == "" {
		return d, fmt.Errorf("next hop %q: no host", s)
	}
	if !d.addr.IsValid() {
		h, err := asciiHost(d.host)
		if err != nil {
			return d, fmt.Errorf("next hop %q: %w", s, err)
		}
		if h == "" {
			return d, fmt.Errorf("next hop %q: no host", s)
		}
		d.host = h
	}
	return d, nil
}

// asciiHost lower-cases a host name, converts the labels of an
// internationalized one to their A-label ("xn--") form and drops a
// trailing dot. (Only lower-casing is applied as mapping: Unicode
// normalization would need tables this module does not carry.)
func asciiHost(h string) (string, error) {
	h = strings.ToLower(strings.TrimSuffix(h, "."))
	if !ascii(h) {
		if !utf8.ValidString(h) {
			return "", fmt.Errorf("bad domain name %q: not UTF-8", printable(h))
		}
		labels := strings.Split(h, ".")
		for i, l := range labels {
			if !ascii(l) {
				labels[i] = "xn--" + punycode(l)
			}
		}
		h = strings.Join(labels, ".")
	}
	if len(h) > 255 {
		return "", fmt.Errorf("domain name of %d bytes", len(h))
	}
	return h, nil
}

// punycode encodes a label as RFC 3492 says (the part after "xn--").
func punycode(label string) string {
	const (
		base, tmin, tmax, skew, damp = 36, 1, 26, 38, 700
		initialBias, initialN        = 72, 128
	)
	digit := func(d int) byte {
		if d < 26 {
			return byte('a' + d)
		}
		return byte('0' + d - 26)
	}
	adapt := func(delta, numPoints int, first bool) int {
		if first {
			delta /= damp
		} else {
			delta /= 2
		}
		delta += delta / numPoints
		k := 0
		for delta > ((base-tmin)*tmax)/2 {
			delta /= base - tmin
			k += base
		}
		return k + (base-tmin+1)*delta/(delta+skew)
	}
	runes := []rune(label)
	var out []byte
	for _, r := range runes {
		if r < 0x80 {
			out = append(out, byte(r))
		}
	}
	h := len(out)
	b := h
	if b > 0 {
		out = append(out, '-')
	}
	n, delta, bias := initialN, 0, initialBias
	for h < len(runes) {
		m := int(^uint(0) >> 1)
		for _, r := range runes {
			if int(r) >= n && int(r) < m {
				m = int(r)
			}
		}
		delta += (m - n) * (h + 1)
		n = m
		for _, r := range runes {
			if int(r) < n {
				delta++
			}
			if int(r) != n {
				continue
			}
			q := delta
			for k := base; ; k += base {
				t := k - bias
				switch {
				case t < tmin:
					t = tmin
				case t > tmax:
					t = tmax
				}
				if q < t {
					break
				}
				out = append(out, digit(t+(q-t)%(base-t)))
				q = (q - t) / (base - t)
			}
			out = append(out, digit(q))
			bias = adapt(delta, h+1, h == b)
			delta = 0
			h++
		}
		delta++
		n++
	}
	return string(out)
}
