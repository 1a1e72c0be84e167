package resolve

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/postern-mta/postern/internal/config"
	"github.com/postern-mta/postern/internal/maps"
	"github.com/postern-mta/postern/internal/matchlist"
)

func domains(t testing.TB, parent bool, items ...string) *matchlist.Domains {
	t.Helper()
	d, err := matchlist.NewDomains(items, parent, maps.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func table(t testing.TB, spec string) maps.Table {
	t.Helper()
	tb, err := maps.OpenList([]string{spec}, maps.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

// base is a configuration like Postfix's defaults for mx.example.test.
func base(t testing.TB) Config {
	return Config{
		MyHostname:            "mx.example.test",
		MyOrigin:              "mx.example.test",
		MyDomain:              "example.test",
		MyDestination:         domains(t, false, "mx.example.test", "localhost.example.test", "localhost"),
		LocalAddrs:            []netip.Addr{netip.MustParseAddr("192.0.2.25"), netip.MustParseAddr("2001:db8::25")},
		VirtualAliasDomains:   domains(t, false, "alias.test"),
		VirtualMailboxDomains: domains(t, false, "vmail.test"),
		RelayDomains:          domains(t, true, "relay.test"),
		LocalTransport:        "local:mx.example.test",
		VirtualTransport:      "virtual",
		RelayTransport:        "relay",
		DefaultTransport:      "smtp",
		RecipientDelimiter:    "+",
	}
}

func TestResolve(t *testing.T) {
	tests := []struct {
		name   string
		rcpt   string
		change func(*Config)
		want   Result
	}{
		{"local domain", "bob@mx.example.test", nil,
			Result{ClassLocal, "local", "mx.example.test", "bob@mx.example.test"}},
		{"localhost is local, nexthop from local_transport", "bob@localhost", nil,
			Result{ClassLocal, "local", "mx.example.test", "bob@localhost"}},
		{"local_transport without nexthop uses the domain", "bob@localhost", func(c *Config) { c.LocalTransport = "local" },
			Result{ClassLocal, "local", "localhost", "bob@localhost"}},
		{"no domain is local to myhostname", "bob", nil,
			Result{ClassLocal, "local", "mx.example.test", "bob@mx.example.test"}},
		{"trailing @", "bob@", nil,
			Result{ClassLocal, "local", "mx.example.test", "bob@mx.example.test"}},
		{"null recipient", "", nil,
			Result{ClassLocal, "local", "mx.example.test", "MAILER-DAEMON@mx.example.test"}},
		{"empty quoted local part", `""@localhost`, nil,
			Result{ClassLocal, "local", "mx.example.test", "MAILER-DAEMON@localhost"}},
		{"own IPv4 literal", "bob@[192.0.2.25]", nil,
			Result{ClassLocal, "local", "mx.example.test", "bob@[192.0.2.25]"}},
		{"own IPv6 literal", "bob@[IPv6:2001:db8::25]", nil,
			Result{ClassLocal, "local", "mx.example.test", "bob@[IPv6:2001:db8::25]"}},
		{"foreign literal", "bob@[198.51.100.7]", nil,
			Result{ClassDefault, "smtp", "[198.51.100.7]", "bob@[198.51.100.7]"}},
		{"remote", "alice@Remote.Test", nil,
			Result{ClassDefault, "smtp", "remote.test", "alice@Remote.Test"}},
		{"trailing dot removed", "alice@remote.test.", nil,
			Result{ClassDefault, "smtp", "remote.test", "alice@remote.test"}},
		{"double trailing dot kept", "alice@remote.test..", nil,
			Result{ClassDefault, "smtp", "remote.test..", "alice@remote.test.."}},
		{"source route stripped", "@hop1.test,@hop2.test:alice@remote.test", nil,
			Result{ClassDefault, "smtp", "remote.test", "alice@remote.test"}},
		{"relayhost for default class", "alice@remote.test", func(c *Config) { c.Relayhost = "[gw.test]:2525" },
			Result{ClassDefault, "smtp", "[gw.test]:2525", "alice@remote.test"}},
		{"relay domain", "alice@relay.test", nil,
			Result{ClassRelay, "relay", "relay.test", "alice@relay.test"}},
		{"relay domain matches subdomains", "alice@sub.relay.test", nil,
			Result{ClassRelay, "relay", "sub.relay.test", "alice@sub.relay.test"}},
		{"relayhost for relay class", "alice@relay.test", func(c *Config) { c.Relayhost = "gw.test" },
			Result{ClassRelay, "relay", "gw.test", "alice@relay.test"}},
		{"relay_transport nexthop beats relayhost", "alice@relay.test", func(c *Config) { c.Relayhost = "gw.test"; c.RelayTransport = "relay:[inner.test]" },
			Result{ClassRelay, "relay", "[inner.test]", "alice@relay.test"}},
		{"virtual mailbox", "carol@vmail.test", nil,
			Result{ClassVirtualMailbox, "virtual", "vmail.test", "carol@vmail.test"}},
		{"virtual mailbox ignores relayhost", "carol@vmail.test", func(c *Config) { c.Relayhost = "gw.test" },
			Result{ClassVirtualMailbox, "virtual", "vmail.test", "carol@vmail.test"}},
		{"virtual alias domain bounces", "dave@alias.test", nil,
			Result{ClassVirtualAlias, "error", "User unknown in virtual alias table", "dave@alias.test"}},
		{"virtual alias ignores transport_maps", "dave@alias.test", func(c *Config) { c.TransportMaps = table(t, "inline:{alias.test=smtp:[x]}") },
			Result{ClassVirtualAlias, "error", "User unknown in virtual alias table", "dave@alias.test"}},
		{"user@remote@local is routed", "alice@remote.test@localhost", nil,
			Result{ClassDefault, "smtp", "remote.test", "alice@remote.test"}},
		{"quoted routing opened", `"alice@remote.test"@localhost`, nil,
			Result{ClassDefault, "smtp", "remote.test", "alice@remote.test"}},
		{"percent hack off", "alice%remote.test@localhost", nil,
			Result{ClassLocal, "local", "mx.example.test", "alice%remote.test@localhost"}},
		{"percent hack on", "alice%remote.test@localhost", func(c *Config) { c.AllowPercentHack = true },
			Result{ClassDefault, "smtp", "remote.test", "alice@remote.test"}},
		{"percent hack last percent", "a%b%remote.test", func(c *Config) { c.AllowPercentHack = true },
			Result{ClassDefault, "smtp", "remote.test", "a%b@remote.test"}},
		{"percent hack not on remote domain", "alice%x.test@remote.test", func(c *Config) { c.AllowPercentHack = true },
			Result{ClassDefault, "smtp", "remote.test", "alice%x.test@remote.test"}},
		{"bang path off", "remote.test!alice", nil,
			Result{ClassLocal, "local", "mx.example.test", "remote.test!alice@mx.example.test"}},
		{"bang path on", "remote.test!alice", func(c *Config) { c.SwapBangpath = true },
			Result{ClassDefault, "smtp", "remote.test", "alice@remote.test"}},
		{"bang path through local hop", "localhost!remote.test!alice@mx.example.test", func(c *Config) { c.SwapBangpath = true },
			Result{ClassDefault, "smtp", "remote.test", "alice@remote.test"}},
		{"quoted bang path opened", `"remote.test!alice"@localhost`, func(c *Config) { c.SwapBangpath = true },
			Result{ClassDefault, "smtp", "remote.test", "alice@remote.test"}},
		{"quoted local part without routing stays", `"john doe"@localhost`, nil,
			Result{ClassLocal, "local", "mx.example.test", `"john doe"@localhost`}},
	}
	ctx := context.Background()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := base(t)
			if tt.change != nil {
				tt.change(&c)
			}
			got, err := New(c).Resolve(ctx, tt.rcpt)
			if err != nil {
				t.Fatalf("Resolve(%q): %v", tt.rcpt, err)
			}
			if got != tt.want {
				t.Errorf("Resolve(%q)\n got %+v\nwant %+v", tt.rcpt, got, tt.want)
			}
		})
	}
}

func TestTransportMaps(t *testing.T) {
	tm := `inline:{
		{bob+list@mx.example.test = smtp:[lists.test]},
		{carol@mx.example.test = error:5.1.1 carol left},
		{erin@mx.example.test = error:},
		{frank@mx.example.test = retry:4.3.2 try later},
		{remote.test = relay:[gw.test]:2525},
		{.parent.test = :[inner.test]},
		{hop.test = smtp},
		{keep.test = :},
		{junk.test = discard:},
		{nohop.test = lmtp:}
	}`
	tests := []struct {
		name   string
		rcpt   string
		change func(*Config)
		want   Result
	}{
		{"user+ext@domain", "bob+list@mx.example.test", nil,
			Result{ClassLocal, "smtp", "[lists.test]", "bob+list@mx.example.test"}},
		{"extension stripped to user@domain", "carol+x@mx.example.test", nil,
			Result{ClassLocal, "error", "5.1.1 carol left", "carol+x@mx.example.test"}},
		{"other user falls through to local", "dan@mx.example.test", nil,
			Result{ClassLocal, "local", "mx.example.test", "dan@mx.example.test"}},
		{"error without text", "erin@mx.example.test", nil,
			Result{ClassLocal, "error", "Address is undeliverable", "erin@mx.example.test"}},
		{"retry", "frank@mx.example.test", nil,
			Result{ClassLocal, "retry", "4.3.2 try later", "frank@mx.example.test"}},
		{"domain with host and port", "a@remote.test", nil,
			Result{ClassDefault, "relay", "[gw.test]:2525", "a@remote.test"}},
		{"domain entry does not match subdomain", "a@sub.remote.test", nil,
			Result{ClassDefault, "smtp", "sub.remote.test", "a@sub.remote.test"}},
		{".parent matches subdomain, keeps transport", "a@x.parent.test", nil,
			Result{ClassDefault, "smtp", "[inner.test]", "a@x.parent.test"}},
		{".parent does not match the parent itself", "a@parent.test", nil,
			Result{ClassDefault, "smtp", "parent.test", "a@parent.test"}},
		{"transport only resets relayhost nexthop", "a@hop.test", func(c *Config) { c.Relayhost = "[gw.test]" },
			Result{ClassDefault, "smtp", "hop.test", "a@hop.test"}},
		{"colon alone changes nothing", "a@keep.test", func(c *Config) { c.Relayhost = "[gw.test]" },
			Result{ClassDefault, "smtp", "[gw.test]", "a@keep.test"}},
		{"discard", "a@junk.test", nil,
			Result{ClassDefault, "discard", "junk.test", "a@junk.test"}},
		{"transport without nexthop", "a@nohop.test", nil,
			Result{ClassDefault, "lmtp", "nohop.test", "a@nohop.test"}},
		{"null recipient looked up as MAILER-DAEMON", "", func(c *Config) {
			c.TransportMaps = table(t, "inline:{MAILER-DAEMON@mx.example.test=discard:}")
		}, Result{ClassLocal, "discard", "mx.example.test", "MAILER-DAEMON@mx.example.test"}},
		{"wildcard", "a@else.test", func(c *Config) {
			c.TransportMaps = table(t, "inline:{{*=smtp:[smart.test]}, {mx.example.test=local:}}")
		}, Result{ClassDefault, "smtp", "[smart.test]", "a@else.test"}},
		{"wildcard also for local", "bob@localhost", func(c *Config) {
			c.TransportMaps = table(t, "inline:{{*=smtp:[smart.test]}}")
		}, Result{ClassLocal, "smtp", "[smart.test]", "bob@localhost"}},
		{"parent style matches bare parent", "a@deep.remote.test", func(c *Config) { c.TransportParentMatches = true },
			Result{ClassDefault, "relay", "[gw.test]:2525", "a@deep.remote.test"}},
	}
	ctx := context.Background()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := base(t)
			c.TransportMaps = table(t, tm)
			if tt.change != nil {
				tt.change(&c)
			}
			got, err := New(c).Resolve(ctx, tt.rcpt)
			if err != nil {
				t.Fatalf("Resolve(%q): %v", tt.rcpt, err)
			}
			if got != tt.want {
				t.Errorf("Resolve(%q)\n got %+v\nwant %+v", tt.rcpt, got, tt.want)
			}
		})
	}
}

// failTable fails every lookup, as a table server that is down.
type failTable struct{}

func (failTable) Lookup(context.Context, string) (string, bool, error) {
	return "", false, errors.New("table server down")
}
func (failTable) Name() string { return "fail:test" }

func TestTableFailureIsAnError(t *testing.T) {
	c := base(t)
	c.TransportMaps = failTable{}
	if _, err := New(c).Resolve(context.Background(), "a@remote.test"); err == nil {
		t.Fatal("Resolve with a failing transport_maps: no error")
	}
	c = base(t)
	c.RelayDomains = domains(t, true, "fail:down")
	r := New(c)
	if _, err := r.Resolve(context.Background(), "a@remote.test"); err == nil {
		t.Fatal("Resolve with a failing relay_domains: no error")
	}
	if _, err := r.Class(context.Background(), "remote.test"); err == nil {
		t.Fatal("Class with a failing relay_domains: no error")
	}
}

func TestNullTransport(t *testing.T) {
	c := base(t)
	c.DefaultTransport = ""
	_, err := New(c).Resolve(context.Background(), "a@remote.test")
	if err == nil || !strings.Contains(err.Error(), "default_transport") {
		t.Fatalf("Resolve with an empty default_transport: %v, want an error naming it", err)
	}
}

func TestClassAndIsLocalDomain(t *testing.T) {
	c := base(t)
	c.MyOrigin = "example.test"
	r := New(c)
	ctx := context.Background()
	for _, tt := range []struct {
		domain string
		class  Class
		local  bool
	}{
		{"", ClassLocal, true},
		{"MX.example.test.", ClassLocal, true},
		{"localhost", ClassLocal, true},
		{"[192.0.2.25]", ClassLocal, true},
		{"example.test", ClassDefault, true}, // myorigin: a "user" lookup, not a local destination
		{"alias.test", ClassVirtualAlias, false},
		{"vmail.test", ClassVirtualMailbox, false},
		{"x.relay.test", ClassRelay, false},
		{"remote.test", ClassDefault, false},
		{"[198.51.100.1]", ClassDefault, false},
	} {
		got, err := r.Class(ctx, tt.domain)
		if err != nil || got != tt.class {
			t.Errorf("Class(%q) = %v, %v; want %v", tt.domain, got, err, tt.class)
		}
		if l := r.IsLocalDomain(ctx, tt.domain); l != tt.local {
			t.Errorf("IsLocalDomain(%q) = %v, want %v", tt.domain, l, tt.local)
		}
	}
	for c, want := range map[Class]string{ClassLocal: "local", ClassVirtualAlias: "virtual alias",
		ClassVirtualMailbox: "virtual mailbox", ClassRelay: "relay", ClassDefault: "default"} {
		if c.String() != want {
			t.Errorf("%d.String() = %q, want %q", int(c), c.String(), want)
		}
	}
}

func TestReadConfig(t *testing.T) {
	cfg, err := config.Parse("main.cf", []byte(`
myhostname = mx.example.test
mydomain = example.test
inet_interfaces = 127.0.0.1, [::1]
proxy_interfaces = 192.0.2.99
relay_domains = relay.test
virtual_mailbox_domains = vmail.test
transport_maps = inline:{{remote.test = relay:[gw.test]}}
parent_domain_matches_subdomains = relay_domains, transport_maps
recipient_delimiter = +
defer_transports = smtp, relay
`))
	if err != nil {
		t.Fatal(err)
	}
	c, err := ReadConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if c.LocalTransport != "local:mx.example.test" || c.DefaultTransport != "smtp" || !c.TransportParentMatches ||
		c.RecipientDelimiter != "+" || len(c.DeferTransports) != 2 || len(c.LocalAddrs) != 3 {
		t.Errorf("ReadConfig gave %+v", c)
	}
	// Postern's defaults, unlike Postfix's: no bang paths, no percent hack.
	if c.SwapBangpath || c.AllowPercentHack {
		t.Errorf("swap_bangpath %v, allow_percent_hack %v by default; want both off", c.SwapBangpath, c.AllowPercentHack)
	}
	r := New(c)
	ctx := context.Background()
	for rcpt, want := range map[string]Result{
		"bob@localhost":           {ClassLocal, "local", "mx.example.test", "bob@localhost"},
		"bob@[192.0.2.99]":        {ClassLocal, "local", "mx.example.test", "bob@[192.0.2.99]"},
		"bob@[ipv6:::1]":          {ClassLocal, "local", "mx.example.test", "bob@[ipv6:::1]"},
		"a@x.relay.test":          {ClassRelay, "relay", "x.relay.test", "a@x.relay.test"},
		"a@sub.remote.test":       {ClassDefault, "relay", "[gw.test]", "a@sub.remote.test"},
		"a@vmail.test":            {ClassVirtualMailbox, "virtual", "vmail.test", "a@vmail.test"},
		"remote.test!a@localhost": {ClassLocal, "local", "mx.example.test", "remote.test!a@localhost"},
		"a%remote.test@localhost": {ClassLocal, "local", "mx.example.test", "a%remote.test@localhost"},
	} {
		got, err := r.Resolve(ctx, rcpt)
		if err != nil || got != want {
			t.Errorf("Resolve(%q) = %+v, %v; want %+v", rcpt, got, err, want)
		}
	}
}

// With Postfix's settings (both "yes") the routing forms are opened.
func TestReadConfigPostfixRouting(t *testing.T) {
	cfg, err := config.Parse("main.cf", []byte(`
myhostname = mx.example.test
mydestination = localhost
swap_bangpath = yes
allow_percent_hack = yes
`))
	if err != nil {
		t.Fatal(err)
	}
	c, err := ReadConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r := New(c)
	for rcpt, want := range map[string]Result{
		"remote.test!a@localhost": {ClassDefault, "smtp", "remote.test", "a@remote.test"},
		"a%remote.test@localhost": {ClassDefault, "smtp", "remote.test", "a@remote.test"},
	} {
		got, err := r.Resolve(context.Background(), rcpt)
		if err != nil || got != want {
			t.Errorf("Resolve(%q) = %+v, %v; want %+v", rcpt, got, err, want)
		}
	}
}
