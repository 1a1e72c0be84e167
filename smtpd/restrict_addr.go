package smtpd

import (
	"fmt"
	"strings"

	"github.com/postern-mta/postern/internal/addr"
	"github.com/postern-mta/postern/internal/maps"
	"github.com/postern-mta/postern/internal/resolve"
)

// Address class decisions: relaying and recipient validation, through
// internal/resolve (Postfix's trivial-rewrite).

// resolve resolves an address; a failure is a temporary lookup failure.
func (c *check) resolve(address string) (resolve.Result, error) {
	if c.ck.Resolver == nil {
		return resolve.Result{Class: resolve.ClassDefault, Transport: "smtp", Recipient: address}, nil
	}
	res, err := c.ck.Resolver.Resolve(c.ctx, address)
	if err != nil {
		c.ck.warnf("resolve <%s>: %v", address, err)
		return res, fmt.Errorf("%w: %v", errTempLookup, err)
	}
	return res, nil
}

// isFinal: the address is delivered here (local, virtual alias, virtual
// mailbox domains).
func isFinal(r resolve.Result) bool {
	switch r.Class {
	case resolve.ClassLocal, resolve.ClassVirtualAlias, resolve.ClassVirtualMailbox:
		return true
	}
	return false
}

// authDestination is permit_auth_destination's test: a domain this host
// delivers or relays to.
func authDestination(c *check, rcpt string) (bool, error) {
	res, err := c.resolve(rcpt)
	if err != nil {
		return false, err
	}
	if !strings.Contains(res.Recipient, "@") {
		return true, nil
	}
	return isFinal(res) || res.Class == resolve.ClassRelay, nil
}

func rejectUnauthDestination(c *check, code int, enh string) (verdict, error) {
	st := c.st
	if !st.haveRcpt {
		return dunno, nil
	}
	ok, err := authDestination(c, st.recipient)
	if err != nil {
		return dunno, err
	}
	if ok {
		return dunno, nil
	}
	return c.rejectf(errPolicy, code, enh, "<%s>: Relay access denied", st.recipient), nil
}

func checkRecipientMaps(c *check, rcpt string) (verdict, error) {
	if c.st.rcptMapsChecked {
		return dunno, nil
	}
	if c.st.warnIfReject == 0 {
		c.st.rcptMapsChecked = true
	}
	return checkRcptMaps(c, rcpt, classRecipient)
}

func checkSenderMaps(c *check, sender string) (verdict, error) {
	if c.st.senderMapsChecked {
		return dunno, nil
	}
	if c.st.warnIfReject == 0 {
		c.st.senderMapsChecked = true
	}
	return checkRcptMaps(c, sender, classSender)
}

// checkRcptMaps rejects an address in a domain delivered or relayed here
// that no table knows: "User unknown in local recipient table".
func checkRcptMaps(c *check, address, replyClass string) (verdict, error) {
	res, err := c.resolve(address)
	if err != nil {
		return dunno, err
	}
	key := res.Recipient
	if key == "" {
		key = address
	}
	virtual := maps.AddrOptions{
		Style:         maps.StyleVirtual,
		Delimiter:     c.ck.RecipientDelimiter,
		IsLocalDomain: func(d string) bool { return c.ck.Resolver == nil || c.ck.Resolver.IsLocalDomain(c.ctx, d) },
	}
	find := func(t maps.Table) (bool, error) {
		if t == nil {
			return false, nil
		}
		r, err := maps.LookupAddress(c.ctx, t, key, virtual)
		if err != nil {
			c.ck.warnf("%s: lookup of %s: %v", t.Name(), key, err)
			return false, errTempLookup
		}
		return r.Found, nil
	}
	// An address a rewriting table knows is taken as valid.
	canon := []maps.Table{c.ck.RcptCanonMaps, c.ck.CanonicalMaps, c.ck.VirtAliasMaps}
	if replyClass == classSender {
		canon = append(canon, c.ck.SenderCanonMap)
	}
	for _, t := range canon {
		hit, err := find(t)
		if err != nil {
			return dunno, fmt.Errorf("%w", err)
		}
		if hit {
			return dunno, nil
		}
	}
	enh := "5.1.1"
	if replyClass == classSender {
		enh = "5.1.0"
	}
	switch res.Transport {
	case resolve.TransportError:
		code := 550
		if res.Class == resolve.ClassVirtualAlias {
			code = c.ck.UnknownVirtualAliasCode
		}
		e, text := splitDSN(enh, res.Nexthop)
		return c.rejectf(errBounce, code, fixDSN(e, replyClass), "<%s>: %s rejected: %s", address, replyClass, text), nil
	case resolve.TransportRetry:
		e, text := splitDSN("4"+enh[1:], res.Nexthop)
		return c.rejectf(errBounce, 450, fixDSN(e, replyClass), "<%s>: %s rejected: %s", address, replyClass, text), nil
	}
	var table maps.Table
	var code int
	var what string
	switch res.Class {
	case resolve.ClassLocal:
		local := strings.ToLower(addr.Local(key))
		if isSpecialLocal(local, c.ck.DoubleBounceSender) {
			return dunno, nil
		}
		table, code, what = c.ck.LocalRcptMaps, c.ck.UnknownLocalRcptCode, " in local recipient table"
	case resolve.ClassVirtualMailbox:
		table, code, what = c.ck.VirtMboxMaps, c.ck.UnknownVirtualMboxCode, " in virtual mailbox table"
	case resolve.ClassRelay:
		table, code, what = c.ck.RelayRcptMaps, c.ck.UnknownRelayRcptCode, " in relay recipient table"
	default:
		return dunno, nil
	}
	if table == nil {
		return dunno, nil
	}
	hit, err := find(table)
	if err != nil {
		return dunno, err
	}
	if hit {
		return dunno, nil
	}
	if !c.ck.ShowUnknownTable {
		what = ""
	}
	return c.rejectf(errBounce, code, enh, "<%s>: %s rejected: User unknown%s", address, replyClass, what), nil
}

// isSpecialLocal: local parts qmgr and bounce take care of, never
// "unknown" (the double-bounce sender, postmaster, MAILER-DAEMON).
func isSpecialLocal(local, doubleBounce string) bool {
	switch local {
	case "postmaster", "mailer-daemon":
		return true
	}
	return doubleBounce != "" && local == strings.ToLower(doubleBounce)
}
