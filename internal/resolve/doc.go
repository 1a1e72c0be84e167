// Package resolve decides where a recipient address goes: Postern's
// version of Postfix's trivial-rewrite resolver, shared by smtpd (relay
// and recipient checks), cleanup (is a domain local?) and qmgr (which
// agent and next hop deliver it).
//
// # Address classes
//
// The domain of an address puts it in one class, tried in this order:
//
//	local            no domain, or a domain in mydestination, or an address
//	                 literal ([192.0.2.1]) of inet_interfaces or
//	                 proxy_interfaces: delivered by local_transport
//	virtual alias    virtual_alias_domains: every address must have been
//	                 rewritten by virtual_alias_maps already, so what is
//	                 left goes to the error transport ("User unknown in
//	                 virtual alias table")
//	virtual mailbox  virtual_mailbox_domains: virtual_transport
//	relay            relay_domains: relay_transport
//	default          everything else: default_transport
//
// For the relay and default classes a non-empty relayhost replaces the
// domain as next hop. A transport setting of the form "transport:nexthop"
// (local_transport = local:$myhostname) gives the next hop itself.
//
// # Address cleanup
//
// Before the domain is looked at, the address is made plain: an RFC 5321
// source route (@a,@b:user@dom) is dropped, a trailing dot after the domain
// is removed, and every domain that is local is taken off so that what it
// hid can be routed: "user@remote@localhost" goes to remote. With
// swap_bangpath, "site!user" becomes "user@site"; with allow_percent_hack,
// "user%site" becomes "user@site" (both only once the local domain is gone,
// as in Postfix). Both are off by default in Postern, where Postfix has
// them on: routing by address syntax is a way around relay checks, and
// mail today has no use for it. A quoted local part is opened to look for
// these routing characters too, so "\"user@remote\"@localhost" cannot
// slip past relay checks. An empty local part is MAILER-DAEMON, so the
// null recipient resolves as MAILER-DAEMON@$myhostname; an address left
// without a domain gets the local domain it had, or $myhostname.
//
// # transport_maps
//
// transport(5) tables may override the class's choice, except for the
// virtual alias class. Keys are tried in order: user+ext@domain,
// user@domain, domain, then the parent domains (".parent", or "parent" when
// transport_maps is listed in parent_domain_matches_subdomains), then "*".
// A value is "transport:nexthop":
//
//	smtp:[mx.example]:2525   both replaced
//	relay:                   transport replaced, next hop back to the domain
//	:[gw.example]            next hop replaced, transport kept
//	:                        nothing changed
//	error:5.1.1 no such user the error agent bounces with that text
//	retry:4.3.2 try later    the retry agent defers with that text
//	discard:                 the discard agent drops the mail
//
// An error or retry entry without text gets "Address is undeliverable".
//
// # Failure
//
// A table that cannot be read (a temporary lookup failure) makes Resolve
// return an error; callers answer 4xx or defer, never treat it as "not
// found".
package resolve
