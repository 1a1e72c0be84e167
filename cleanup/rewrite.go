package cleanup

import (
	"context"
	"fmt"
	"strings"

	"github.com/postern-mta/postern/internal/addr"
	"github.com/postern-mta/postern/internal/dsn"
	"github.com/postern-mta/postern/internal/maps"
)

// Address classes of canonical_classes, sender_canonical_classes,
// recipient_canonical_classes and masquerade_classes.
type classes uint8

const (
	classEnvSender classes = 1 << iota
	classEnvRcpt
	classHdrSender
	classHdrRcpt
)

// parseClasses reads a class list ("envelope_sender, header_recipient").
func parseClasses(param string, items []string) (classes, error) {
	var c classes
	for _, it := range items {
		switch strings.ToLower(it) {
		case "envelope_sender":
			c |= classEnvSender
		case "envelope_recipient":
			c |= classEnvRcpt
		case "header_sender":
			c |= classHdrSender
		case "header_recipient":
			c |= classHdrRcpt
		default:
			return 0, fmt.Errorf("%s: unknown address class %q (use envelope_sender, envelope_recipient, header_sender, header_recipient)", param, it)
		}
	}
	return c, nil
}

// Rewrite contexts for header addresses (Postfix's rewrite_context).
const (
	ctxNone   = iota // leave header addresses alone (mail from elsewhere)
	ctxLocal         // complete bare names with @$myorigin
	ctxRemote        // complete bare names with @$remote_header_rewrite_domain
)

// errExpansion is the temporary failure of a virtual alias expansion that
// grew too big or too deep (Postfix's wording).
var errExpansion = dsn.Temp("4.6.0", "Alias expansion error")

// errTable is the temporary failure of a lookup table: the message is
// not accepted now and the client tries again later.
var errTable = dsn.Temp("4.3.0", "Error: queue file write error")

// rewriter holds the address rewriting rules of one cleanup service.
type rewriter struct {
	cfg *Config
}

// qualify completes an address as Postfix's "local" rewriting does: a
// source route is dropped, a trailing dot of the domain removed, and a
// bare name gets @domain. The null address stays null.
func qualify(a, domain string) string {
	if a == "" {
		return a
	}
	a = addr.StripSourceRoute(a)
	local, d := addr.Split(a)
	if d == "" {
		if domain == "" || local == "" {
			return local
		}
		return local + "@" + domain
	}
	if strings.HasSuffix(d, ".") {
		return local + "@" + strings.TrimRight(d, ".")
	}
	return a
}

// lookup finds addr in t in canonical(5)/virtual(5) order and returns the
// addresses of the result, completed as Postfix completes table results:
// "@otherdomain" keeps the user, a bare name gets @$myorigin, and an
// extension the table did not match is carried over when propagate says
// so. found is false when no key matched.
func (rw *rewriter) lookup(ctx context.Context, t maps.Table, a string, propagate bool) ([]string, bool, error) {
	res, err := maps.LookupAddress(ctx, t, a, maps.AddrOptions{
		Style:         maps.StyleCanonical,
		Delimiter:     rw.cfg.RecipientDelimiter,
		IsLocalDomain: rw.cfg.localDomain(ctx),
	})
	if err != nil {
		return nil, false, err
	}
	if !res.Found {
		return nil, false, nil
	}
	targets := splitAddrList(res.Value, rw.cfg.ExpansionLimit+1)
	if len(targets) == 0 {
		return nil, false, nil
	}
	local, _ := addr.Split(a)
	user, ext, delim := addr.Extension(local, rw.cfg.RecipientDelimiter)
	keepExt := propagate && delim != 0 && !matchedWithExtension(res.Key, a, local)
	for i, t := range targets {
		tl, td := addr.Split(t)
		if tl == "" && td != "" { // "@otherdomain": the same user elsewhere
			tl = local
			if keepExt {
				tl = user
			}
		}
		if keepExt {
			tl = tl + string(delim) + ext
		}
		if td == "" {
			td = rw.cfg.MyOrigin
		}
		targets[i] = addr.Join(tl, td)
	}
	return targets, true, nil
}

// matchedWithExtension reports whether the key that matched contained the
// address's extension (so the result replaces it).
func matchedWithExtension(key, full, local string) bool {
	k := strings.ToLower(key)
	return k == strings.ToLower(full) || k == strings.ToLower(local)
}

// canonical applies one canonical table to an address (one-to-one: a
// result with several addresses gives its first).
func (rw *rewriter) canonical(ctx context.Context, t maps.Table, a string) (string, error) {
	if t == nil || a == "" {
		return a, nil
	}
	res, found, err := rw.lookup(ctx, t, a, rw.cfg.PropagateCanonical)
	if err != nil || !found {
		return a, err
	}
	return res[0], nil
}

// masquerade hides the subdomains of a domain listed in
// masquerade_domains: user@host.example.com becomes user@example.com for
// "example.com"; "!sub.example.com" before it keeps that domain as it is.
// Local parts in masquerade_exceptions are left alone.
func (rw *rewriter) masquerade(a string) string {
	if len(rw.cfg.MasqueradeDomains) == 0 || a == "" {
		return a
	}
	local, domain := addr.Split(a)
	if domain == "" {
		return a
	}
	if rw.cfg.MasqueradeExceptions[strings.ToLower(local)] {
		return a
	}
	ld := strings.ToLower(domain)
	for _, m := range rw.cfg.MasqueradeDomains {
		excl := strings.HasPrefix(m, "!")
		m = strings.ToLower(strings.TrimPrefix(m, "!"))
		if m == "" {
			continue
		}
		if ld == m {
			return a
		}
		if strings.HasSuffix(ld, "."+m) {
			if excl {
				return a
			}
			return local + "@" + m
		}
	}
	return a
}

// sender rewrites the envelope sender: local completion, then
// sender_canonical_maps, canonical_maps and masquerading as their
// classes say.
func (rw *rewriter) sender(ctx context.Context, a string, mapOK bool) (string, error) {
	c := rw.cfg
	a = qualify(a, c.MyOrigin)
	if !mapOK || a == "" {
		return a, nil
	}
	var err error
	if c.SenderCanonicalClasses&classEnvSender != 0 {
		if a, err = rw.canonical(ctx, c.SenderCanonical, a); err != nil {
			return a, err
		}
	}
	if c.CanonicalClasses&classEnvSender != 0 {
		if a, err = rw.canonical(ctx, c.Canonical, a); err != nil {
			return a, err
		}
	}
	if c.MasqueradeClasses&classEnvSender != 0 {
		a = rw.masquerade(a)
	}
	return a, nil
}

// recipient rewrites an envelope recipient before virtual alias
// expansion: local completion, recipient_canonical_maps, canonical_maps,
// masquerading.
func (rw *rewriter) recipient(ctx context.Context, a string, mapOK bool) (string, error) {
	c := rw.cfg
	a = qualify(a, c.MyOrigin)
	if !mapOK || a == "" {
		return a, nil
	}
	var err error
	if c.RecipientCanonicalClasses&classEnvRcpt != 0 {
		if a, err = rw.canonical(ctx, c.RecipientCanonical, a); err != nil {
			return a, err
		}
	}
	if c.CanonicalClasses&classEnvRcpt != 0 {
		if a, err = rw.canonical(ctx, c.Canonical, a); err != nil {
			return a, err
		}
	}
	if c.MasqueradeClasses&classEnvRcpt != 0 {
		a = rw.masquerade(a)
	}
	return a, nil
}

// headerAddr rewrites one address in a sender (isSender) or recipient
// header, in the given rewrite context.
func (rw *rewriter) headerAddr(ctx context.Context, a string, isSender bool, rctx int) (string, error) {
	c := rw.cfg
	if a == "" {
		return a, nil
	}
	switch rctx {
	case ctxLocal:
		a = qualify(a, c.MyOrigin)
	case ctxRemote:
		a = qualify(a, c.RemoteHeaderRewriteDomain)
	}
	cls, own, ownTable := classHdrRcpt, c.RecipientCanonicalClasses, c.RecipientCanonical
	if isSender {
		cls, own, ownTable = classHdrSender, c.SenderCanonicalClasses, c.SenderCanonical
	}
	var err error
	if own&cls != 0 {
		if a, err = rw.canonical(ctx, ownTable, a); err != nil {
			return a, err
		}
	}
	if c.CanonicalClasses&cls != 0 {
		if a, err = rw.canonical(ctx, c.Canonical, a); err != nil {
			return a, err
		}
	}
	if c.MasqueradeClasses&cls != 0 {
		a = rw.masquerade(a)
	}
	return a, nil
}

// virtual expands an address through virtual_alias_maps, Postfix's way:
// every address of the list is looked up again until it is not found, an
// address that expands into itself (among others) is kept and not looked
// up again, and a list that grows past virtual_alias_expansion_limit or an
// address looked up more than virtual_alias_recursion_limit times (a loop)
// makes the message wait: a temporary error. warn receives the reason for
// the log.
func (rw *rewriter) virtual(ctx context.Context, a string, warn func(string)) ([]string, error) {
	c := rw.cfg
	out := []string{a}
	if c.VirtualAlias == nil || a == "" {
		return out, nil
	}
	fixed := map[string]bool{}
	for i := 0; i < len(out); i++ {
		if len(out) > c.ExpansionLimit {
			warn(fmt.Sprintf("unreasonable %s map expansion size for %s -- message not accepted, try again later", "virtual_alias_maps", a))
			return nil, errExpansion
		}
		for count := 0; ; count++ {
			if fixed[strings.ToLower(out[i])] {
				break
			}
			if count >= c.RecursionLimit {
				warn(fmt.Sprintf("unreasonable %s map nesting for %s -- message not accepted, try again later", "virtual_alias_maps", a))
				return nil, errExpansion
			}
			targets, found, err := rw.lookup(ctx, c.VirtualAlias, out[i], c.PropagateVirtual)
			if err != nil {
				warn(fmt.Sprintf("%s map lookup problem for %s -- message not accepted, try again later", "virtual_alias_maps", out[i]))
				return nil, errTable.Wrap(err)
			}
			if !found {
				break
			}
			lhs := out[i]
			for j, t := range targets {
				if j == 0 {
					out[i] = t
				} else {
					out = append(out, t)
				}
				if strings.EqualFold(lhs, t) {
					fixed[strings.ToLower(lhs)] = true
				}
			}
		}
	}
	return out, nil
}
