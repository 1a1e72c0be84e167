package mtatest

import (
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/miekg/dns"
)

// DNS is a real DNS server on loopback (UDP and TCP on one port) that
// answers from records the test adds. Names it does not know get NXDOMAIN.
type DNS struct {
	Addr string // 127.0.0.1:port, for smtp_dns_server

	mu      sync.Mutex
	records map[string][]dns.RR // by lower-case FQDN
}

// NewDNS starts a DNS server; it stops when the test ends.
func NewDNS(t testing.TB) *DNS {
	t.Helper()
	// UDP and TCP on one port: the port the kernel gives for UDP may be
	// the source port of some TCP connection; then take another.
	var pc net.PacketConn
	var ln net.Listener
	var err error
	for try := 0; ; try++ {
		if pc, err = net.ListenPacket("udp", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		if ln, err = net.Listen("tcp", pc.LocalAddr().String()); err == nil {
			break
		}
		pc.Close()
		if try == 20 {
			t.Fatalf("DNS server TCP on the port of %s: %v", pc.LocalAddr(), err)
		}
	}
	d := &DNS{Addr: pc.LocalAddr().String(), records: make(map[string][]dns.RR)}
	udp := &dns.Server{PacketConn: pc, Handler: d}
	tcp := &dns.Server{Listener: ln, Handler: d}
	go udp.ActivateAndServe() //nolint:errcheck // ends with Shutdown
	go tcp.ActivateAndServe() //nolint:errcheck
	t.Cleanup(func() {
		udp.Shutdown() //nolint:errcheck
		tcp.Shutdown() //nolint:errcheck
	})
	return d
}

// Add adds records in zone-file form, e.g. "example.test. 60 IN MX 10
// mx1.example.test.".
func (d *DNS) Add(t testing.TB, records ...string) {
	t.Helper()
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, s := range records {
		rr, err := dns.NewRR(s)
		if err != nil {
			t.Fatalf("DNS record %q: %v", s, err)
		}
		name := strings.ToLower(rr.Header().Name)
		d.records[name] = append(d.records[name], rr)
	}
}

// ServeDNS answers a query.
func (d *DNS) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(req)
	m.Authoritative = true
	if len(req.Question) == 1 {
		q := req.Question[0]
		d.mu.Lock()
		rrs, known := d.records[strings.ToLower(q.Name)]
		for _, rr := range rrs {
			if rr.Header().Rrtype == q.Qtype || q.Qtype == dns.TypeANY {
				m.Answer = append(m.Answer, dns.Copy(rr))
			}
		}
		d.mu.Unlock()
		if !known {
			m.Rcode = dns.RcodeNameError
		}
	}
	w.WriteMsg(m) //nolint:errcheck // the client retries or times out
}
