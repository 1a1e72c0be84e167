package smtpd

import (
	"strconv"
	"strings"

	"github.com/postern-mta/postern/internal/maps"
)

// Access tables: check_client_access and its siblings look a key up in
// a table (in access(5) order) and turn the value into a verdict.

func checkClientAccess(c *check, s *step, _, _, defACL string) (verdict, error) {
	st := c.st
	r, err := maps.LookupClientParent(c.ctx, s.table, st.name, st.addr, c.ck.AccessParentMatches)
	if err != nil {
		return tableFailure(c, s, st.namaddr(), classClient, defACL)
	}
	if !r.Found {
		return dunno, nil
	}
	return tableResult(c, s, r.Value, st.namaddr(), classClient, defACL)
}

func checkReverseClientAccess(c *check, s *step, _, _, defACL string) (verdict, error) {
	st := c.st
	r, err := maps.LookupClientParent(c.ctx, s.table, st.reverseName, st.addr, c.ck.AccessParentMatches)
	if err != nil {
		return tableFailure(c, s, st.reverseName, classRevClient, defACL)
	}
	if !r.Found {
		return dunno, nil
	}
	v, err := tableResult(c, s, r.Value, st.reverseName, classRevClient, defACL)
	if err == nil && v == permit && !st.fx.discard {
		// An unverified name must not whitelist: it is the client's claim.
		c.ck.warnf("restriction %s returns OK for %s", s.name, st.reverseName)
		c.ck.warnf("this is not allowed for security reasons")
		c.ck.warnf("use DUNNO instead of OK if you want to make an exception")
		return dunno, errConfig
	}
	return v, err
}

func checkHeloAccess(c *check, s *step, _, _, defACL string) (verdict, error) {
	if c.st.helo == "" {
		return dunno, nil
	}
	return checkDomainAccess(c, s.table, c.st.helo, c.st.helo, classHelo, defACL)
}

// checkDomainAccess looks up a domain and its parents (a numeric name
// or address literal only as it is).
func checkDomainAccess(c *check, t maps.Table, domain, replyName, replyClass, defACL string) (verdict, error) {
	s := &step{table: t, name: "check_domain_access"}
	var r maps.Result
	var err error
	if strings.HasPrefix(domain, "[") || validHostaddr(domain) {
		var v string
		var found bool
		v, found, err = t.Lookup(c.ctx, domain)
		r = maps.Result{Value: v, Found: found}
	} else {
		r, err = maps.LookupDomain(c.ctx, t, domain, c.ck.AccessParentMatches)
	}
	if err != nil {
		return tableFailure(c, s, replyName, replyClass, defACL)
	}
	if !r.Found {
		return dunno, nil
	}
	return tableResult(c, s, r.Value, replyName, replyClass, defACL)
}

func checkSenderAccess(c *check, s *step, _, _, defACL string) (verdict, error) {
	st := c.st
	if !st.haveSender {
		return dunno, nil
	}
	if st.sender == "" {
		v, found, err := s.table.Lookup(c.ctx, c.ck.NullAccessKey)
		if err != nil {
			return tableFailure(c, s, st.sender, classSender, defACL)
		}
		if !found {
			return dunno, nil
		}
		return tableResult(c, s, v, st.sender, classSender, defACL)
	}
	return checkMailAccess(c, s, st.sender, classSender, defACL)
}

func checkRecipientAccess(c *check, s *step, _, _, defACL string) (verdict, error) {
	if !c.st.haveRcpt {
		return dunno, nil
	}
	return checkMailAccess(c, s, c.st.recipient, classRecipient, defACL)
}

// checkMailAccess looks an address up in access(5) order, after the
// resolver has put it in its canonical form.
func checkMailAccess(c *check, s *step, address, replyClass, defACL string) (verdict, error) {
	res, err := c.resolve(address)
	if err != nil {
		return dunno, err
	}
	key := res.Recipient
	if key == "" {
		key = address
	}
	r, err := maps.LookupAddress(c.ctx, s.table, key, maps.AddrOptions{
		Style:         maps.StyleAccess,
		Delimiter:     c.ck.RecipientDelimiter,
		ParentMatches: c.ck.AccessParentMatches,
	})
	if err != nil {
		return tableFailure(c, s, address, replyClass, defACL)
	}
	if !r.Found {
		return dunno, nil
	}
	return tableResult(c, s, r.Value, address, replyClass, defACL)
}

// tableFailure answers a table that could not be read, as Postfix does.
func tableFailure(c *check, s *step, replyName, replyClass, defACL string) (verdict, error) {
	c.ck.warnf("%s: table lookup problem", s.table.Name())
	return tableResult(c, s, "451 4.3.5 Server configuration error", replyName, replyClass, defACL)
}

// tableResult turns an access table value into a verdict (access(5)).
func tableResult(c *check, s *step, value, replyName, replyClass, defACL string) (verdict, error) {
	st := c.st
	cmd, text, _ := strings.Cut(value, " ")
	if i := strings.IndexByte(cmd, '\t'); i >= 0 {
		cmd, text = cmd[:i], cmd[i+1:]+" "+text
	}
	text = strings.TrimSpace(text)
	switch strings.ToUpper(cmd) {
	case "DUNNO":
		return dunno, nil
	case "REJECT":
		enh, t := splitDSN("5.7.1", text)
		return c.rejectf(errPolicy, c.ck.AccessMapRejectCode, fixDSN(enh, replyClass), "<%s>: %s rejected: %s", replyName, replyClass, orDefault(t, "Access denied")), nil
	case "DEFER":
		enh, t := splitDSN("4.7.1", text)
		return c.rejectf(errPolicy, c.ck.AccessMapDeferCode, fixDSN(enh, replyClass), "<%s>: %s rejected: %s", replyName, replyClass, orDefault(t, "Access denied")), nil
	case "INFO":
		c.log("info", text)
		return dunno, nil
	case "WARN":
		c.log("warn", text)
		return dunno, nil
	case "FILTER":
		if !canDelegate(c, s, "FILTER") {
			return dunno, nil
		}
		if text == "" || !strings.Contains(text, ":") {
			c.ck.warnf("access table %s entry has FILTER entry without transport:destination value", tableName(s))
			return dunno, nil
		}
		c.log("filter", "<"+replyName+">: "+replyClass+" triggers FILTER "+text)
		st.fx.filter = text
		return dunno, nil
	case "HOLD":
		if !canDelegate(c, s, "HOLD") || st.fx.hold {
			return dunno, nil
		}
		c.log("hold", "<"+replyName+">: "+replyClass+" "+orDefault(text, "triggers HOLD action"))
		st.fx.hold = true
		return dunno, nil
	case "DISCARD":
		if !canDelegate(c, s, "DISCARD") {
			return dunno, nil
		}
		c.log("discard", "<"+replyName+">: "+replyClass+" "+orDefault(text, "triggers DISCARD action"))
		st.fx.discard = true
		return c.permitted(cmd, replyClass, replyName, "from "+tableName(s)), nil
	case "REDIRECT":
		if !canDelegate(c, s, "REDIRECT") {
			return dunno, nil
		}
		if !strings.Contains(text, "@") {
			c.ck.warnf("access table %s entry requires user@domain target", tableName(s))
			return dunno, nil
		}
		c.log("redirect", "<"+replyName+">: "+replyClass+" triggers REDIRECT "+text)
		st.fx.redirect = text
		return dunno, nil
	case "BCC":
		if !canDelegate(c, s, "BCC") {
			return dunno, nil
		}
		if !strings.Contains(text, "@") {
			c.ck.warnf("access table %s entry requires user@domain target", tableName(s))
			return dunno, nil
		}
		c.log("bcc", "<"+replyName+">: "+replyClass+" triggers BCC "+text)
		st.fx.bcc = append(st.fx.bcc, text)
		return dunno, nil
	case "DEFER_IF_PERMIT":
		enh, t := splitDSN("4.7.1", text)
		return deferIf(&st.deferIfPermit, errPolicy, c.ck.AccessMapDeferCode, fixDSN(enh, replyClass), "<%s>: %s rejected: %s", replyName, replyClass, orDefault(t, "Service unavailable")), nil
	case "DEFER_IF_REJECT":
		enh, t := splitDSN("4.7.1", text)
		return deferIf(&st.deferIfReject, errPolicy, c.ck.AccessMapDeferCode, fixDSN(enh, replyClass), "<%s>: %s rejected: %s", replyName, replyClass, orDefault(t, "Service unavailable")), nil
	case "PREPEND":
		if !notInClientHelo(c, s, "PREPEND") {
			return dunno, nil
		}
		if st.where == "END-OF-MESSAGE" {
			c.ck.warnf("access table %s: action PREPEND must be used before smtpd_end_of_data_restrictions", tableName(s))
			return dunno, nil
		}
		if !isHeader(text) {
			c.ck.warnf("access table %s entry requires header: text", tableName(s))
			return dunno, nil
		}
		st.fx.prepend = append(st.fx.prepend, text)
		return dunno, nil
	case "OK", "RELAY":
		return c.permitted(cmd, replyClass, replyName, "from "+tableName(s)), nil
	}
	if allDigits(cmd) {
		if len(cmd) == 3 && text != "" && (cmd[0] == '4' || cmd[0] == '5') {
			code, _ := strconv.Atoi(cmd)
			enh, t := splitDSN(cmd[:1]+".7.1", text)
			return c.rejectf(errPolicy, code, fixDSN(enh, replyClass), "<%s>: %s rejected: %s", replyName, replyClass, orDefault(t, "Access denied")), nil
		}
		return c.permitted(cmd, replyClass, replyName, "from "+tableName(s)), nil
	}
	if strings.Contains(value, ":") {
		c.ck.warnf("access table %s has entry with lookup table: %s", tableName(s), value)
		c.ck.warnf("do not specify lookup tables inside SMTPD access maps")
		c.ck.warnf("define a restriction class and specify its name instead.")
		return dunno, errConfig
	}
	if st.recursion > 100 {
		c.ck.warnf("access table %s entry %s causes unreasonable recursion", tableName(s), value)
		return dunno, errConfig
	}
	steps, err := c.ck.valueSteps(value, defACL)
	if err != nil {
		c.ck.warnf("access table %s: %v", tableName(s), err)
		return dunno, errConfig
	}
	if len(steps) == 0 {
		return permit, nil
	}
	return c.evalList(steps, replyName, replyClass, defACL), nil
}

func tableName(s *step) string {
	if s.table != nil {
		return s.table.Name()
	}
	return s.arg
}

// canDelegate reports whether an action that needs a message (FILTER,
// HOLD, …) can take effect here: not at ETRN, not before MAIL FROM.
func canDelegate(c *check, s *step, action string) bool {
	if c.st.where == "ETRN" {
		c.ck.warnf("access table %s: action %s is unavailable in smtpd_etrn_restrictions", tableName(s), action)
		return false
	}
	return notInClientHelo(c, s, action)
}

func notInClientHelo(c *check, s *step, action string) bool {
	if !c.st.haveSender {
		c.ck.warnf("access table %s: with smtpd_delay_reject=no, action %s is always skipped in client or helo restrictions", tableName(s), action)
		return false
	}
	return true
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// isHeader reports whether s starts like a message header: a name of
// printable characters other than ':' and space, then ':'.
func isHeader(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ':':
			return i > 0
		case c <= ' ' || c >= 0x7f:
			return false
		}
	}
	return false
}
