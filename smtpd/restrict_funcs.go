package smtpd

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/postern-mta/postern/internal/addr"
)

// The built-in restrictions. Each is registered under its main.cf name.
func init() {
	// Generic.
	register("permit", restrictionDef{fn: func(c *check, s *step, rn, rc, _ string) (verdict, error) {
		return c.permitted(s.name, rc, rn, ""), nil
	}})
	register("reject", restrictionDef{fn: func(c *check, _ *step, rn, rc, _ string) (verdict, error) {
		return c.rejectf(errPolicy, c.ck.RejectCode, "5.7.1", "<%s>: %s rejected: Access denied", rn, rc), nil
	}})
	register("defer", restrictionDef{fn: func(c *check, _ *step, rn, rc, _ string) (verdict, error) {
		return c.rejectf(errPolicy, c.ck.DeferCode, "4.3.2", "<%s>: %s rejected: Try again later", rn, rc), nil
	}})
	register("defer_if_permit", restrictionDef{fn: func(c *check, _ *step, rn, rc, _ string) (verdict, error) {
		return deferIf(&c.st.deferIfPermit, errPolicy, 450, "4.7.0", "<%s>: %s rejected: defer_if_permit requested", rn, rc), nil
	}})
	register("defer_if_reject", restrictionDef{fn: func(c *check, _ *step, rn, rc, _ string) (verdict, error) {
		return deferIf(&c.st.deferIfReject, errPolicy, 450, "4.7.0", "<%s>: %s rejected: defer_if_reject requested", rn, rc), nil
	}})
	register("reject_unauth_pipelining", restrictionDef{fn: func(c *check, _ *step, rn, rc, _ string) (verdict, error) {
		if c.st.illPipelining {
			return c.rejectf(errProtocol, 503, "5.5.0", "<%s>: %s rejected: Improper use of SMTP command pipelining", rn, rc), nil
		}
		return dunno, nil
	}})
	register("reject_plaintext_session", restrictionDef{fn: func(c *check, _ *step, _, _, _ string) (verdict, error) {
		if !c.st.tls {
			return c.rejectf(errPolicy, c.ck.PlaintextCode, "4.7.1", "Session encryption is required"), nil
		}
		return dunno, nil
	}})
	register("sleep", restrictionDef{arg: true, fn: restrictSleep})

	// Client.
	register("permit_mynetworks", restrictionDef{fn: permitMynetworks})
	register("permit_inet_interfaces", restrictionDef{fn: permitInetInterfaces})
	register("permit_sasl_authenticated", restrictionDef{fn: noop}) // until SASL exists
	register("permit_tls_clientcerts", restrictionDef{fn: noop})
	register("permit_tls_all_clientcerts", restrictionDef{fn: noop})
	register("check_client_access", restrictionDef{arg: true, table: true, fn: checkClientAccess})
	register("check_reverse_client_access", restrictionDef{arg: true, table: true, fn: checkReverseClientAccess})
	register("reject_unknown_client_hostname", restrictionDef{fn: rejectUnknownClient})
	register("reject_unknown_client", restrictionDef{fn: rejectUnknownClient})
	register("reject_unknown_reverse_client_hostname", restrictionDef{fn: rejectUnknownReverseClient})

	// HELO.
	register("check_helo_access", restrictionDef{arg: true, table: true, fn: checkHeloAccess})
	register("reject_invalid_helo_hostname", restrictionDef{fn: rejectInvalidHelo})
	register("reject_invalid_hostname", restrictionDef{fn: rejectInvalidHelo})
	register("reject_non_fqdn_helo_hostname", restrictionDef{fn: rejectNonFQDNHelo})
	register("reject_non_fqdn_hostname", restrictionDef{fn: rejectNonFQDNHelo})
	register("reject_unknown_helo_hostname", restrictionDef{fn: rejectUnknownHelo})
	register("reject_unknown_hostname", restrictionDef{fn: rejectUnknownHelo})

	// Sender.
	register("check_sender_access", restrictionDef{arg: true, table: true, fn: checkSenderAccess})
	register("reject_non_fqdn_sender", restrictionDef{fn: func(c *check, _ *step, _, _, _ string) (verdict, error) {
		if !c.st.haveSender || c.st.sender == "" {
			return dunno, nil
		}
		return rejectNonFQDNAddress(c, c.st.sender, classSender), nil
	}})
	register("reject_unknown_sender_domain", restrictionDef{fn: func(c *check, _ *step, _, _, _ string) (verdict, error) {
		if !c.st.haveSender || c.st.sender == "" {
			return dunno, nil
		}
		return rejectUnknownAddress(c, c.st.sender, classSender)
	}})
	register("reject_unknown_address", registry["reject_unknown_sender_domain"])
	register("reject_unlisted_sender", restrictionDef{fn: func(c *check, _ *step, _, _, _ string) (verdict, error) {
		if !c.st.haveSender || c.st.sender == "" {
			return dunno, nil
		}
		return checkSenderMaps(c, c.st.sender)
	}})

	// Recipient.
	register("check_recipient_access", restrictionDef{arg: true, table: true, fn: checkRecipientAccess})
	register("reject_non_fqdn_recipient", restrictionDef{fn: func(c *check, _ *step, _, _, _ string) (verdict, error) {
		if !c.st.haveRcpt {
			return dunno, nil
		}
		return rejectNonFQDNAddress(c, c.st.recipient, classRecipient), nil
	}})
	register("reject_unknown_recipient_domain", restrictionDef{fn: func(c *check, _ *step, _, _, _ string) (verdict, error) {
		if !c.st.haveRcpt {
			return dunno, nil
		}
		return rejectUnknownAddress(c, c.st.recipient, classRecipient)
	}})
	register("reject_unlisted_recipient", restrictionDef{fn: func(c *check, _ *step, _, _, _ string) (verdict, error) {
		if !c.st.haveRcpt || c.st.recipient == "" {
			return dunno, nil
		}
		return checkRecipientMaps(c, c.st.recipient)
	}})
	register("check_recipient_maps", registry["reject_unlisted_recipient"])
	register("permit_auth_destination", restrictionDef{fn: func(c *check, s *step, _, _, _ string) (verdict, error) {
		if !c.st.haveRcpt {
			return dunno, nil
		}
		ok, err := authDestination(c, c.st.recipient)
		if err != nil || !ok {
			return dunno, err
		}
		return c.permitted(s.name, classRecipient, c.st.recipient, ""), nil
	}})
	register("reject_unauth_destination", restrictionDef{fn: func(c *check, _ *step, _, _, _ string) (verdict, error) {
		return rejectUnauthDestination(c, c.ck.RelayDomainsRejectCode, "5.7.1")
	}})
	register("defer_unauth_destination", restrictionDef{fn: func(c *check, _ *step, _, _, _ string) (verdict, error) {
		return rejectUnauthDestination(c, c.ck.RelayDomainsRejectCode-100, "4.7.1")
	}})
	register("reject_multi_recipient_bounce", restrictionDef{fn: func(c *check, _ *step, rn, rc, _ string) (verdict, error) {
		limit := 0
		if c.st.where != "RCPT" {
			limit = 1
		}
		if c.st.haveSender && c.st.sender == "" && c.st.rcptCount > limit {
			return c.rejectf(errPolicy, c.ck.MultiRecipientBounceCode, "5.5.3", "<%s>: %s rejected: Multi-recipient bounce", rn, rc), nil
		}
		return dunno, nil
	}})

	// ETRN.
	register("check_etrn_access", restrictionDef{arg: true, table: true, fn: func(c *check, s *step, _, _, defACL string) (verdict, error) {
		if c.st.etrnName == "" {
			return dunno, nil
		}
		return checkDomainAccess(c, s.table, c.st.etrnName, c.st.etrnName, classETRN, defACL)
	}})
}

func noop(*check, *step, string, string, string) (verdict, error) { return dunno, nil }

// restrictSleep pauses, as Postfix's "sleep N" does to trip up clients
// that talk before their turn. The pause is capped at a minute.
func restrictSleep(c *check, s *step, _, _, _ string) (verdict, error) {
	n, err := strconv.Atoi(s.arg)
	if err != nil || n < 0 {
		c.ck.warnf("restriction sleep must be followed by number")
		return dunno, errConfig
	}
	t := time.NewTimer(time.Duration(min(n, 60)) * time.Second)
	defer t.Stop()
	select {
	case <-t.C:
	case <-c.ctx.Done():
	}
	return dunno, nil
}

func permitMynetworks(c *check, s *step, _, _, _ string) (verdict, error) {
	a, err := netip.ParseAddr(c.st.addr)
	if err != nil {
		return dunno, nil
	}
	hit, err := c.ck.MyNetworks.Match(c.ctx, a, c.st.name)
	if err != nil {
		c.ck.warnf("mynetworks lookup error for %s: %v", c.st.namaddr(), err)
		return dunno, errTempLookup
	}
	if hit {
		return c.permitted(s.name, classClient, c.st.namaddr(), ""), nil
	}
	return dunno, nil
}

func permitInetInterfaces(c *check, s *step, _, _, _ string) (verdict, error) {
	a, err := netip.ParseAddr(c.st.addr)
	if err == nil && slices.Contains(c.ck.InetAddrs, a.Unmap()) {
		return c.permitted(s.name, classClient, c.st.namaddr(), ""), nil
	}
	return dunno, nil
}

func rejectUnknownClient(c *check, _ *step, _, _, _ string) (verdict, error) {
	if c.st.nameStatus != peerOK {
		code := 450
		if c.st.nameStatus == peerPerm {
			code = c.ck.UnknownClientCode
		}
		return c.rejectf(errPolicy, code, "4.7.25", "Client host rejected: cannot find your hostname, [%s]", c.st.addr), nil
	}
	return dunno, nil
}

func rejectUnknownReverseClient(c *check, _ *step, _, _, _ string) (verdict, error) {
	if c.st.revStatus != peerOK {
		code := 450
		if c.st.revStatus == peerPerm {
			code = c.ck.UnknownClientCode
		}
		return c.rejectf(errPolicy, code, "4.7.1", "Client host rejected: cannot find your reverse hostname, [%s]", c.st.addr), nil
	}
	return dunno, nil
}

// heloTestName drops one trailing dot, as Postfix does (not two).
func heloTestName(name string) string {
	if len(name) > 1 && name[len(name)-1] == '.' && name[len(name)-2] != '.' {
		return name[:len(name)-1]
	}
	return name
}

// rejectInvalidHostaddr checks a HELO "[address]".
func rejectInvalidHostaddr(c *check, helo string) verdict {
	inner := helo
	if strings.HasPrefix(inner, "[") && strings.HasSuffix(inner, "]") && len(inner) > 2 {
		inner = inner[1 : len(inner)-1]
	}
	if _, ok := mailhostAddr(inner); !ok {
		return c.rejectf(errPolicy, c.ck.InvalidHostnameCode, "5.5.2", "<%s>: %s rejected: invalid ip address", helo, classHelo)
	}
	return dunno
}

// mailhostAddr accepts "1.2.3.4" and "IPv6:2001:db8::1".
func mailhostAddr(s string) (netip.Addr, bool) {
	if len(s) > 5 && strings.EqualFold(s[:5], "ipv6:") {
		a, err := netip.ParseAddr(s[5:])
		return a, err == nil && a.Is6()
	}
	a, err := netip.ParseAddr(s)
	return a, err == nil && a.Is4()
}

func rejectInvalidHelo(c *check, _ *step, _, _, _ string) (verdict, error) {
	h := c.st.helo
	if h == "" {
		return dunno, nil
	}
	if h[0] == '[' {
		return rejectInvalidHostaddr(c, h), nil
	}
	t := heloTestName(h)
	if !addr.ValidHostname(t) && !validHostaddr(t) {
		return c.rejectf(errPolicy, c.ck.InvalidHostnameCode, "5.5.2", "<%s>: %s rejected: Invalid name", h, classHelo), nil
	}
	return dunno, nil
}

func validHostaddr(s string) bool {
	_, err := netip.ParseAddr(s)
	return err == nil
}

func rejectNonFQDNHelo(c *check, _ *step, _, _, _ string) (verdict, error) {
	h := c.st.helo
	if h == "" {
		return dunno, nil
	}
	if h[0] == '[' {
		return rejectInvalidHostaddr(c, h), nil
	}
	t := heloTestName(h)
	if !addr.ValidHostname(t) || !strings.Contains(t, ".") {
		return c.rejectf(errPolicy, c.ck.NonFQDNCode, "5.5.2", "<%s>: %s rejected: need fully-qualified hostname", h, classHelo), nil
	}
	return dunno, nil
}

func rejectUnknownHelo(c *check, _ *step, _, _, _ string) (verdict, error) {
	h := c.st.helo
	if h == "" {
		return dunno, nil
	}
	if h[0] == '[' {
		return rejectInvalidHostaddr(c, h), nil
	}
	found, err := hostExists(c.ctx, c.ck.DNS, heloTestName(h), false)
	switch {
	case err != nil:
		return c.deferIfPermitAction(c.ck.UnknownHeloTempfail, errPolicy, 450, "4.7.1", "<%s>: %s rejected: Host not found", h, classHelo), nil
	case !found:
		return c.rejectf(errPolicy, c.ck.UnknownHostnameCode, "4.7.1", "<%s>: %s rejected: Host not found", h, classHelo), nil
	}
	return dunno, nil
}

// hostExists looks a name up in DNS: address records, and MX records
// when mx is set (a mail domain). A temporary DNS failure is an error.
func hostExists(ctx context.Context, dns DNS, name string, mx bool) (bool, error) {
	if dns == nil {
		return true, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if mx {
		mxs, err := dns.LookupMX(ctx, name)
		if err == nil && len(mxs) > 0 {
			return true, nil
		}
		if err != nil && !isNotFound(err) {
			return false, err
		}
	}
	addrs, err := dns.LookupHost(ctx, name)
	if err == nil && len(addrs) > 0 {
		return true, nil
	}
	if err != nil && !isNotFound(err) {
		return false, err
	}
	return false, nil
}

func isNotFound(err error) bool {
	var de *net.DNSError
	return errors.As(err, &de) && de.IsNotFound
}

// rejectNonFQDNAddress checks that an address has a fully qualified
// domain.
func rejectNonFQDNAddress(c *check, address, replyClass string) verdict {
	domain := addr.Domain(address)
	if strings.HasPrefix(domain, "[") && strings.HasSuffix(domain, "]") {
		return dunno
	}
	t := heloTestName(domain)
	if t == "" || !addr.ValidHostname(t) || !strings.Contains(t, ".") {
		return c.rejectf(errPolicy, c.ck.NonFQDNCode, "4.5.2", "<%s>: %s rejected: need fully-qualified address", address, replyClass)
	}
	return dunno
}

// rejectUnknownAddress checks that a remote address's domain is in DNS.
func rejectUnknownAddress(c *check, address, replyClass string) (verdict, error) {
	res, err := c.resolve(address)
	if err != nil {
		return dunno, err
	}
	_, domain := addr.Split(res.Recipient)
	if domain == "" || isFinal(res) || strings.HasPrefix(domain, "[") {
		return dunno, nil
	}
	enh := "4.1.2"
	if replyClass == classSender {
		enh = "4.1.8"
	}
	found, err := hostExists(c.ctx, c.ck.DNS, domain, true)
	switch {
	case err != nil:
		return c.deferIfPermitAction(c.ck.UnknownAddrTempfail, errPolicy, 450, enh, "<%s>: %s rejected: Domain not found", address, replyClass), nil
	case !found:
		return c.rejectf(errPolicy, c.ck.UnknownAddressCode, enh, "<%s>: %s rejected: Domain not found", address, replyClass), nil
	}
	return dunno, nil
}
