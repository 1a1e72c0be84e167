package smtpd

import (
	"context"
	"net"
	"strings"
	"testing"

	"github.com/postern-mta/postern/internal/maps"
	"github.com/postern-mta/postern/internal/matchlist"
	"github.com/postern-mta/postern/internal/proto"
)

// fakeDNS answers from a map; names not in it do not exist.
type fakeDNS struct {
	hosts map[string][]string
	temp  bool
}

func (d fakeDNS) err(name string) error {
	return &net.DNSError{Err: "no such host", Name: name, IsNotFound: !d.temp, IsTemporary: d.temp}
}

func (d fakeDNS) LookupMX(ctx context.Context, name string) ([]*net.MX, error) {
	return nil, d.err(name)
}

func (d fakeDNS) LookupHost(ctx context.Context, host string) ([]string, error) {
	if a, ok := d.hosts[host]; ok {
		return a, nil
	}
	return nil, d.err(host)
}

func (d fakeDNS) LookupAddr(ctx context.Context, a string) ([]string, error) {
	return nil, d.err(a)
}

// rcase is one restriction scenario: the lists, then a transcript of
// commands and the reply each must start with.
type rcase struct {
	name  string
	check func(*CheckConfig)
	cfg   func(*Config)
	steps []string
	log   string // a log line that must appear
}

func lists(kv ...string) func(*CheckConfig) {
	return func(cc *CheckConfig) {
		for i := 0; i+1 < len(kv); i += 2 {
			cc.Lists[kv[i]] = matchlist.Split(kv[i+1])
		}
	}
}

func table(dst *maps.Table, spec string) func(*CheckConfig) {
	return func(cc *CheckConfig) {
		t, err := maps.Open(spec, maps.DefaultOptions())
		if err != nil {
			panic(err)
		}
		*dst = t
	}
}

var restrictionCases = []rcase{
	{name: "default relay policy defers", steps: []string{
		"RCPT TO:<a@remote.test>", "454 4.7.1 <a@remote.test>: Relay access denied"},
		log: "NOQUEUE: reject: RCPT from unknown[127.0.0.1]: 454 4.7.1 <a@remote.test>: Relay access denied; from=<s@sender.test> to=<a@remote.test> proto=ESMTP helo=<client.example.test>"},
	{name: "reject_unauth_destination", check: lists("smtpd_relay_restrictions", "", "smtpd_recipient_restrictions", "permit_mynetworks reject_unauth_destination"),
		steps: []string{"RCPT TO:<a@remote.test>", "554 5.7.1 <a@remote.test>: Relay access denied"}},
	{name: "relay_domains_reject_code", check: func(cc *CheckConfig) {
		lists("smtpd_relay_restrictions", "reject_unauth_destination")(cc)
		cc.RelayDomainsRejectCode = 550
	}, steps: []string{"RCPT TO:<a@remote.test>", "550 5.7.1 <a@remote.test>: Relay access denied"}},
	{name: "mynetworks may relay", check: func(cc *CheckConfig) {
		cc.MyNetworks, _ = matchlist.NewNetworks([]string{"127.0.0.0/8"}, maps.DefaultOptions())
	}, steps: []string{"RCPT TO:<a@remote.test>", "250 2.1.5 Ok"}},
	{name: "relay domain", steps: []string{"RCPT TO:<a@relay.test>", "250 2.1.5 Ok"}},
	{name: "known local user", steps: []string{"RCPT TO:<bob@mx.example.test>", "250 2.1.5 Ok", "RCPT TO:<Alice@MX.example.test>", "250 2.1.5 Ok"}},
	{name: "postmaster always", steps: []string{"RCPT TO:<postmaster>", "250 2.1.5 Ok", "RCPT TO:<postmaster@mx.example.test>", "250 2.1.5 Ok"}},
	{name: "unknown local user", steps: []string{
		"RCPT TO:<nosuchuser@mx.example.test>", "550 5.1.1 <nosuchuser@mx.example.test>: Recipient address rejected: User unknown in local recipient table"},
		log: "NOQUEUE: reject: RCPT from unknown[127.0.0.1]: 550 5.1.1 <nosuchuser@mx.example.test>: Recipient address rejected: User unknown in local recipient table; from=<s@sender.test> to=<nosuchuser@mx.example.test> proto=ESMTP helo=<client.example.test>"},
	{name: "unknown local user, table name hidden", check: func(cc *CheckConfig) { cc.ShowUnknownTable = false },
		steps: []string{"RCPT TO:<x@mx.example.test>", "550 5.1.1 <x@mx.example.test>: Recipient address rejected: User unknown"}},
	{name: "unknown_local_recipient_reject_code", check: func(cc *CheckConfig) { cc.UnknownLocalRcptCode = 450 },
		steps: []string{"RCPT TO:<x@mx.example.test>", "450 4.1.1 <x@mx.example.test>: Recipient address rejected: User unknown in local recipient table"}},
	{name: "local_recipient_maps empty", check: func(cc *CheckConfig) { cc.LocalRcptMaps = nil },
		steps: []string{"RCPT TO:<x@mx.example.test>", "250 2.1.5 Ok"}},
	{name: "smtpd_reject_unlisted_recipient = no", check: func(cc *CheckConfig) { cc.RejectUnlistedRecipient = false },
		steps: []string{"RCPT TO:<x@mx.example.test>", "250 2.1.5 Ok"}},
	{name: "reject_unlisted_recipient in list", check: func(cc *CheckConfig) {
		cc.RejectUnlistedRecipient = false
		lists("smtpd_recipient_restrictions", "reject_unlisted_recipient")(cc)
	}, steps: []string{"RCPT TO:<x@mx.example.test>", "550 5.1.1 <x@mx.example.test>: Recipient address rejected: User unknown in local recipient table"}},
	{name: "virtual alias domain", check: func(cc *CheckConfig) { table(&cc.VirtAliasMaps, "inline:{a@valias.test=bob}")(cc) },
		steps: []string{"RCPT TO:<a@valias.test>", "250 2.1.5 Ok",
			"RCPT TO:<b@valias.test>", "550 5.1.1 <b@valias.test>: Recipient address rejected: User unknown in virtual alias table"}},
	{name: "virtual mailbox domain", check: table(func() *maps.Table { var t maps.Table; return &t }(), "inline:{x=y}"),
		steps: []string{"RCPT TO:<a@vmbox.test>", "250 2.1.5 Ok"}},
	{name: "virtual mailbox table", check: func(cc *CheckConfig) { table(&cc.VirtMboxMaps, "inline:{a@vmbox.test=a/}")(cc) },
		steps: []string{"RCPT TO:<a@vmbox.test>", "250 2.1.5 Ok",
			"RCPT TO:<b@vmbox.test>", "550 5.1.1 <b@vmbox.test>: Recipient address rejected: User unknown in virtual mailbox table"}},
	{name: "relay recipient table", check: func(cc *CheckConfig) { table(&cc.RelayRcptMaps, "inline:{a@relay.test=x}")(cc) },
		steps: []string{"RCPT TO:<a@relay.test>", "250 2.1.5 Ok",
			"RCPT TO:<b@relay.test>", "550 5.1.1 <b@relay.test>: Recipient address rejected: User unknown in relay recipient table"}},
	{name: "recipient access REJECT text", check: func(cc *CheckConfig) {
		lists("smtpd_recipient_restrictions", "check_recipient_access inline:{{bob@mx.example.test=REJECT Go away}}")(cc)
	}, steps: []string{"RCPT TO:<bob@mx.example.test>", "554 5.7.1 <bob@mx.example.test>: Recipient address rejected: Go away"}},
	{name: "relay restrictions first", check: func(cc *CheckConfig) {
		lists("smtpd_recipient_restrictions", "check_recipient_access inline:{{a@remote.test=REJECT Go away}}")(cc)
	}, steps: []string{"RCPT TO:<a@remote.test>", "454 4.7.1 <a@remote.test>: Relay access denied"}},
	{name: "recipient restrictions first", check: func(cc *CheckConfig) {
		lists("smtpd_recipient_restrictions", "check_recipient_access inline:{{a@remote.test=REJECT Go away}}")(cc)
		cc.RelayBeforeRecipient = false
	}, steps: []string{"RCPT TO:<a@remote.test>", "554 5.7.1 <a@remote.test>: Recipient address rejected: Go away"}},
	{name: "recipient access OK relays", check: lists("smtpd_relay_restrictions", "check_recipient_access inline:{remote.test=OK} reject_unauth_destination"),
		steps: []string{"RCPT TO:<a@remote.test>", "250 2.1.5 Ok", "RCPT TO:<a@sub.remote.test>", "250 2.1.5 Ok", "RCPT TO:<a@other.test>", "554 5.7.1"}},
	{name: "bare table means check_recipient_access", check: lists("smtpd_relay_restrictions", "inline:{remote.test=OK} reject_unauth_destination"),
		steps: []string{"RCPT TO:<a@remote.test>", "250 2.1.5 Ok"}},
	{name: "DUNNO stops the search", check: lists("smtpd_relay_restrictions", "check_recipient_access inline:{a@remote.test=DUNNO,remote.test=OK} reject_unauth_destination"),
		steps: []string{"RCPT TO:<a@remote.test>", "554 5.7.1", "RCPT TO:<b@remote.test>", "250"}},
	{name: "sender access", check: lists("smtpd_sender_restrictions", "check_sender_access inline:{{s@sender.test=REJECT}}"),
		steps: []string{"RCPT TO:<bob@mx.example.test>", "554 5.7.1 <s@sender.test>: Sender address rejected: Access denied"}},
	{name: "sender access own code", check: lists("smtpd_sender_restrictions", "check_sender_access inline:{{sender.test=553 no evil2}}"),
		steps: []string{"RCPT TO:<bob@mx.example.test>", "553 5.7.1 <s@sender.test>: Sender address rejected: no evil2"}},
	{name: "sender access with enhanced code fixed for senders", check: lists("smtpd_sender_restrictions", "check_sender_access inline:{{sender.test=REJECT 5.1.1 no such}}"),
		steps: []string{"RCPT TO:<bob@mx.example.test>", "554 5.1.0 <s@sender.test>: Sender address rejected: no such"}},
	{name: "null sender key", cfg: func(c *Config) {}, check: lists("smtpd_sender_restrictions", "check_sender_access inline:{{<>=REJECT Go away postmaster}}"),
		steps: []string{"RSET", "250", "MAIL FROM:<>", "250", "RCPT TO:<bob@mx.example.test>", "554 5.7.1 <>: Sender address rejected: Go away postmaster"}},
	{name: "client access", check: lists("smtpd_client_restrictions", "check_client_access inline:{{127.0.0.1=REJECT Go away}}"),
		steps: []string{"RCPT TO:<bob@mx.example.test>", "554 5.7.1 <unknown[127.0.0.1]>: Client host rejected: Go away"}},
	{name: "client access by network prefix", check: lists("smtpd_client_restrictions", "check_client_access inline:{127.0=REJECT}"),
		steps: []string{"RCPT TO:<bob@mx.example.test>", "554 5.7.1 <unknown[127.0.0.1]>: Client host rejected: Access denied"}},
	{name: "helo access", check: lists("smtpd_helo_restrictions", "check_helo_access inline:{{example.test=REJECT match}}"),
		steps: []string{"RCPT TO:<bob@mx.example.test>", "554 5.7.1 <client.example.test>: Helo command rejected: match"}},
	{name: "invalid helo", check: lists("smtpd_helo_restrictions", "reject_invalid_helo_hostname"),
		steps: []string{"HELO bad_helo!", "250", "MAIL FROM:<s@sender.test>", "250", "RCPT TO:<bob@mx.example.test>", "501 5.5.2 <bad_helo!>: Helo command rejected: Invalid name"}},
	{name: "invalid helo address", check: lists("smtpd_helo_restrictions", "reject_invalid_helo_hostname"),
		steps: []string{"HELO [1.2.3]", "250", "MAIL FROM:<s@sender.test>", "250", "RCPT TO:<bob@mx.example.test>", "501 5.5.2 <[1.2.3]>: Helo command rejected: invalid ip address"}},
	{name: "non-fqdn helo", check: lists("smtpd_helo_restrictions", "reject_non_fqdn_helo_hostname"),
		steps: []string{"HELO foo", "250", "MAIL FROM:<s@sender.test>", "250", "RCPT TO:<bob@mx.example.test>", "504 5.5.2 <foo>: Helo command rejected: need fully-qualified hostname"}},
	{name: "helo required", cfg: func(c *Config) { c.HeloRequired = true },
		steps: []string{"RSET", "250", "QUIT", "221"}},
	{name: "non-fqdn recipient", check: lists("smtpd_recipient_restrictions", "reject_non_fqdn_recipient"),
		steps: []string{"RCPT TO:<user>", "504 5.5.2 <user>: Recipient address rejected: need fully-qualified address"}},
	{name: "non-fqdn sender", check: lists("smtpd_sender_restrictions", "reject_non_fqdn_sender"),
		steps: []string{"RSET", "250", "MAIL FROM:<s@localhost>", "250", "RCPT TO:<bob@mx.example.test>", "504 5.5.2 <s@localhost>: Sender address rejected: need fully-qualified address"}},
	{name: "unknown sender domain", check: func(cc *CheckConfig) {
		lists("smtpd_sender_restrictions", "reject_unknown_sender_domain")(cc)
		cc.DNS = fakeDNS{}
	}, steps: []string{"RCPT TO:<bob@mx.example.test>", "450 4.1.8 <s@sender.test>: Sender address rejected: Domain not found"}},
	{name: "unknown sender domain, DNS down", check: func(cc *CheckConfig) {
		lists("smtpd_sender_restrictions", "reject_unknown_sender_domain")(cc)
		cc.DNS = fakeDNS{temp: true}
	}, steps: []string{"RCPT TO:<bob@mx.example.test>", "450 4.1.8 <s@sender.test>: Sender address rejected: Domain not found"}},
	{name: "unknown recipient domain", check: func(cc *CheckConfig) {
		lists("smtpd_recipient_restrictions", "reject_unknown_recipient_domain")(cc)
		cc.DNS = fakeDNS{hosts: map[string][]string{"relay.test": {"192.0.2.1"}}}
		cc.Resolver = fakeResolver{relay: []string{"relay.test", "nx.test"}}
	}, steps: []string{"RCPT TO:<a@relay.test>", "250", "RCPT TO:<a@nx.test>", "450 4.1.2 <a@nx.test>: Recipient address rejected: Domain not found"}},
	{name: "reject", check: lists("smtpd_recipient_restrictions", "reject"),
		steps: []string{"RCPT TO:<bob@mx.example.test>", "554 5.7.1 <bob@mx.example.test>: Recipient address rejected: Access denied"}},
	{name: "reject_code", check: func(cc *CheckConfig) { lists("smtpd_recipient_restrictions", "reject")(cc); cc.RejectCode = 550 },
		steps: []string{"RCPT TO:<bob@mx.example.test>", "550 5.7.1 <bob@mx.example.test>: Recipient address rejected: Access denied"}},
	{name: "defer", check: lists("smtpd_recipient_restrictions", "defer"),
		steps: []string{"RCPT TO:<bob@mx.example.test>", "450 4.3.2 <bob@mx.example.test>: Recipient address rejected: Try again later"}},
	{name: "access DEFER", check: lists("smtpd_recipient_restrictions", "check_recipient_access inline:{bob@mx.example.test=DEFER}"),
		steps: []string{"RCPT TO:<bob@mx.example.test>", "450 4.7.1 <bob@mx.example.test>: Recipient address rejected: Access denied"}},
	{name: "access 4NN text", check: lists("smtpd_recipient_restrictions", "check_recipient_access inline:{{bob@mx.example.test=450 4.2.0 Greylisted}}"),
		steps: []string{"RCPT TO:<bob@mx.example.test>", "450 4.2.0 <bob@mx.example.test>: Recipient address rejected: Greylisted"}},
	{name: "access all digits permits", check: lists("smtpd_relay_restrictions", "check_recipient_access inline:{a@remote.test=1234567} reject_unauth_destination"),
		steps: []string{"RCPT TO:<a@remote.test>", "250"}},
	{name: "warn_if_reject", check: lists("smtpd_recipient_restrictions", "warn_if_reject reject"),
		steps: []string{"RCPT TO:<bob@mx.example.test>", "250"},
		log:   "NOQUEUE: reject_warning: RCPT from unknown[127.0.0.1]: 554 5.7.1 <bob@mx.example.test>: Recipient address rejected: Access denied;"},
	{name: "defer_if_permit", check: lists("smtpd_recipient_restrictions", "defer_if_permit permit"),
		steps: []string{"RCPT TO:<bob@mx.example.test>", "450 4.7.0 <bob@mx.example.test>: Recipient address rejected: defer_if_permit requested"}},
	{name: "defer_if_reject", check: lists("smtpd_recipient_restrictions", "defer_if_reject reject"),
		steps: []string{"RCPT TO:<bob@mx.example.test>", "450 4.7.0 <bob@mx.example.test>: Recipient address rejected: defer_if_reject requested"}},
	{name: "restriction class", check: func(cc *CheckConfig) {
		cc.Classes = map[string][]string{"strict": {"reject"}}
		lists("smtpd_recipient_restrictions", "check_recipient_access inline:{bob@mx.example.test=strict}")(cc)
	}, steps: []string{"RCPT TO:<bob@mx.example.test>", "554 5.7.1 <bob@mx.example.test>: Recipient address rejected: Access denied",
		"RCPT TO:<alice@mx.example.test>", "250"}},
	{name: "restriction list in table value", check: lists("smtpd_recipient_restrictions", "check_recipient_access inline:{{bob@mx.example.test=permit_mynetworks, reject}}"),
		steps: []string{"RCPT TO:<bob@mx.example.test>", "554 5.7.1 <bob@mx.example.test>: Recipient address rejected: Access denied"}},
	{name: "table in table value is a configuration error", check: lists("smtpd_recipient_restrictions", "check_recipient_access inline:{{bob@mx.example.test=check_client_access inline:{a=b}}}"),
		steps: []string{"RCPT TO:<bob@mx.example.test>", "451 4.3.5 Server configuration error"}},
	{name: "table failure", check: lists("smtpd_recipient_restrictions", "check_recipient_access fail:broken"),
		steps: []string{"RCPT TO:<bob@mx.example.test>", "451 4.3.5 <bob@mx.example.test>: Recipient address rejected: Server configuration error"}},
	{name: "recipient table failure", check: func(cc *CheckConfig) { table(&cc.LocalRcptMaps, "fail:broken")(cc) },
		steps: []string{"RCPT TO:<bob@mx.example.test>", "451 4.3.0 <bob@mx.example.test>: Temporary lookup failure"}},
	{name: "resolver failure", check: func(cc *CheckConfig) { cc.Resolver = fakeResolver{fail: true} },
		steps: []string{"RCPT TO:<bob@mx.example.test>", "451 4.3.0 <bob@mx.example.test>: Temporary lookup failure"}},
	{name: "soft_bounce", check: func(cc *CheckConfig) { lists("smtpd_recipient_restrictions", "reject")(cc); cc.SoftBounce = true },
		steps: []string{"RCPT TO:<bob@mx.example.test>", "454 4.7.1 <bob@mx.example.test>: Recipient address rejected: Access denied"}},
	{name: "multi-recipient bounce", check: lists("smtpd_data_restrictions", "reject_multi_recipient_bounce"),
		steps: []string{"RSET", "250", "MAIL FROM:<>", "250", "RCPT TO:<bob@mx.example.test>", "250", "RCPT TO:<alice@mx.example.test>", "250",
			"DATA", "550 5.5.3 <DATA>: Data command rejected: Multi-recipient bounce"}},
	{name: "HOLD", check: lists("smtpd_recipient_restrictions", "check_recipient_access inline:{{bob@mx.example.test=HOLD held for review}}"),
		steps: []string{"RCPT TO:<bob@mx.example.test>", "250"},
		log:   "NOQUEUE: hold: RCPT from unknown[127.0.0.1]: <bob@mx.example.test>: Recipient address held for review; from=<s@sender.test> to=<bob@mx.example.test>"},
	{name: "DISCARD", check: lists("smtpd_recipient_restrictions", "check_recipient_access inline:{bob@mx.example.test=DISCARD}"),
		steps: []string{"RCPT TO:<bob@mx.example.test>", "250", "DATA", "354"},
		log:   "NOQUEUE: discard: RCPT from unknown[127.0.0.1]: <bob@mx.example.test>: Recipient address triggers DISCARD action;"},
	{name: "delay_reject off", check: func(cc *CheckConfig) {
		cc.DelayReject = false
		lists("smtpd_client_restrictions", "check_client_access inline:{{127.0.0.1=REJECT Go away}}")(cc)
	}},
	{name: "pre-check sender at MAIL without delay", check: func(cc *CheckConfig) {
		cc.DelayReject = false
		lists("smtpd_sender_restrictions", "reject")(cc)
	}},
}

func TestRestrictions(t *testing.T) {
	for _, tc := range restrictionCases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := &Config{Restrictions: true, Checks: testChecks(t, tc.check), HardErrorLimit: 100}
			if tc.cfg != nil {
				tc.cfg(cfg)
			}
			ts := startServer(t, cfg)
			c := dial(t, ts)
			g := c.readReply()
			switch tc.name {
			case "delay_reject off":
				if g != "554 5.7.1 <unknown[127.0.0.1]>: Client host rejected: Go away" {
					t.Fatalf("greeting %q", g)
				}
				c.transcript("HELO x.test", "503 5.7.0 Error: access denied for unknown[127.0.0.1]", "QUIT", "221")
				ts.waitLog(t, "NOQUEUE: reject: CONNECT from unknown[127.0.0.1]: 554 5.7.1 <unknown[127.0.0.1]>: Client host rejected: Go away; proto=SMTP")
				return
			case "pre-check sender at MAIL without delay":
				c.transcript("EHLO x.test", "250", "MAIL FROM:<s@sender.test>", "554 5.7.1 <s@sender.test>: Sender address rejected: Access denied")
				ts.waitLog(t, "NOQUEUE: reject: MAIL from unknown[127.0.0.1]: 554 5.7.1 <s@sender.test>: Sender address rejected: Access denied; from=<s@sender.test> proto=ESMTP helo=<x.test>")
				return
			case "helo required":
				c.transcript("MAIL FROM:<s@sender.test>", "503 5.5.1 Error: send HELO/EHLO first", "ETRN x.test", "503 Error: send HELO/EHLO first")
				return
			}
			c.transcript("EHLO client.example.test", "250", "MAIL FROM:<s@sender.test>", "250")
			c.transcript(tc.steps...)
			if tc.log != "" {
				ts.waitLog(t, tc.log)
			}
		})
	}
}

func TestSideEffectsReachCleanup(t *testing.T) {
	ck := testChecks(t, lists("smtpd_recipient_restrictions",
		"check_recipient_access inline:{{bob@mx.example.test=HOLD}, {alice@mx.example.test=PREPEND X-Tag: yes}, {root@mx.example.test=FILTER smtp:[127.0.0.1]:10025}, {postmaster@mx.example.test=BCC audit@mx.example.test}}"))
	ts := startServer(t, &Config{Restrictions: true, Checks: ck})
	c := dial(t, ts)
	c.readReply()
	c.transcript("EHLO client.example.test", "250", "MAIL FROM:<s@sender.test>", "250")
	for _, r := range []string{"bob", "alice", "root", "postmaster"} {
		c.transcript("RCPT TO:<"+r+"@mx.example.test>", "250 2.1.5 Ok")
	}
	c.transcript("DATA", "354")
	c.send("Subject: x\r\n\r\nbody\r\n.\r\n")
	if r := c.readReply(); !strings.HasPrefix(r, "250 2.0.0 Ok: queued as") {
		t.Fatalf("got %q", r)
	}
	m := ts.sub.messages()[0]
	if m.open.Flags&1<<7 == 0 && m.open.Flags == 0 {
		t.Fatalf("flags %b", m.open.Flags)
	}
	if !strings.HasPrefix(m.content, "X-Tag: yes\nReceived: ") {
		t.Fatalf("content %q", m.content)
	}
	var filter string
	for _, a := range m.open.Attrs {
		if a.Name == AttrFilter {
			filter = a.Value
		}
	}
	if filter != "smtp:[127.0.0.1]:10025" {
		t.Fatalf("filter %q", filter)
	}
	last := m.open.Recipients[len(m.open.Recipients)-1]
	if last.Addr != "audit@mx.example.test" || last.Notify != "NEVER" {
		t.Fatalf("bcc %+v", last)
	}
}

func TestDiscardQueuesNothing(t *testing.T) {
	ck := testChecks(t, lists("smtpd_recipient_restrictions", "check_recipient_access inline:{bob@mx.example.test=DISCARD}"))
	ts := startServer(t, &Config{Restrictions: true, Checks: ck})
	c := dial(t, ts)
	c.readReply()
	c.transcript("EHLO x.test", "250", "MAIL FROM:<s@sender.test>", "250", "RCPT TO:<bob@mx.example.test>", "250", "DATA", "354")
	c.send("x\r\n.\r\n")
	if r := c.readReply(); r != "250 2.0.0 Ok: queued as QID1" {
		t.Fatalf("got %q", r)
	}
	if n := len(ts.sub.messages()); n != 0 {
		t.Fatalf("%d queued", n)
	}
}

func TestRedirect(t *testing.T) {
	ck := testChecks(t, lists("smtpd_recipient_restrictions", "check_recipient_access inline:{{bob@mx.example.test=REDIRECT alice@mx.example.test}}"))
	ts := startServer(t, &Config{Restrictions: true, Checks: ck})
	c := dial(t, ts)
	c.readReply()
	c.transcript("EHLO x.test", "250", "MAIL FROM:<s@sender.test>", "250",
		"RCPT TO:<bob@mx.example.test> NOTIFY=SUCCESS", "250", "RCPT TO:<root@mx.example.test>", "250", "DATA", "354")
	c.send("x\r\n.\r\n")
	c.readReply()
	m := ts.sub.messages()[0]
	// As in Postfix, the message goes to the redirect address once, and
	// the recipient it was given for stays its original recipient
	// (X-Original-To:, orig_to= in the delivery log line).
	want := proto.Rcpt{Addr: "alice@mx.example.test", Orig: "bob@mx.example.test", Notify: "SUCCESS", ORCPT: "rfc822;bob@mx.example.test"}
	if len(m.open.Recipients) != 1 || m.open.Recipients[0] != want {
		t.Fatalf("recipients %+v, want [%+v]", m.open.Recipients, want)
	}
}

func TestCheckerConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		lists map[string][]string
		want  string
	}{
		{map[string][]string{"smtpd_relay_restrictions": {"permit"}}, "do not specify at least one working instance"},
		{map[string][]string{"smtpd_relay_restrictions": {"reject_bogus"}}, `unknown smtpd restriction: "reject_bogus"`},
		{map[string][]string{"smtpd_relay_restrictions": {"reject"}, "smtpd_data_restrictions": {"hash:/x"}}, "specify one of"},
		{map[string][]string{"smtpd_relay_restrictions": {"check_client_access"}}, "needs an argument"},
		{map[string][]string{"smtpd_relay_restrictions": {"check_client_access", "nonsense"}}, "need maptype:mapname"},
	} {
		_, err := NewChecker(CheckConfig{Lists: tc.lists})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: got %v, want %q", tc.lists, err, tc.want)
		}
	}
}

func TestFixDSN(t *testing.T) {
	for _, tc := range []struct{ in, class, want string }{
		{"5.1.1", classSender, "5.1.0"},
		{"5.1.1", classRecipient, "5.1.1"},
		{"5.1.8", classRecipient, "5.1.2"},
		{"4.1.7", classRecipient, "4.1.3"},
		{"5.1.1", classHelo, "5.0.0"},
		{"5.7.1", classSender, "5.7.1"},
	} {
		if got := fixDSN(tc.in, tc.class); got != tc.want {
			t.Errorf("fixDSN(%s, %s) = %s, want %s", tc.in, tc.class, got, tc.want)
		}
	}
}
