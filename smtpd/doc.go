// Package smtpd is Postern's SMTP server: it talks SMTP with clients,
// applies the access restrictions, and hands each accepted message to
// cleanup, which makes it durable before the client hears "250".
//
// # Synopsis
//
//	smtp      inet  n  -  n  -  -  smtpd
//	submission inet n  -  n  -  -  smtpd -o smtpd_tls_security_level=encrypt
//
//	postern daemon smtpd -S      (sendmail -bs: one session on stdin/stdout)
//
// # Description
//
// master starts smtpd with the service's listeners; one smtpd process
// serves every session of its service, at most maxproc at once (further
// clients wait in the kernel's backlog, as with Postfix's process limit).
// SIGTERM stops it gracefully: it stops accepting, closes sessions that
// wait for a command, lets sessions in the middle of a command finish up
// to postern_stop_timeout, then closes the rest.
//
// The dialogue is Postfix's, reply for reply: the 220 greeting
// (smtpd_banner), EHLO with PIPELINING, SIZE, VRFY, ETRN, STARTTLS,
// ENHANCEDSTATUSCODES, 8BITMIME, DSN, SMTPUTF8 and CHUNKING in Postfix's
// order (smtpd_discard_ehlo_keywords removes some), HELO, MAIL FROM with
// SIZE, BODY, SMTPUTF8, RET and ENVID, RCPT TO with NOTIFY and ORCPT,
// DATA, BDAT, RSET, NOOP, VRFY, ETRN, STARTTLS and QUIT. AUTH answers
// "503 5.5.1 Error: authentication not enabled" until SASL exists.
//
// A message is streamed to cleanup as it arrives (it is never held whole
// in memory): at DATA or the first BDAT, smtpd opens a submission with
// the envelope over public/cleanup (private/cleanup when cleanup is a
// private service), gets the queue ID, logs "QID:
// client=host[addr]", writes any PREPEND headers and its Received:
// header, then the client's content. Only cleanup's success gives "250
// 2.0.0 Ok: queued as QID"; cleanup's refusal (say "550 5.7.1" from
// header_checks or "452 4.3.1 Insufficient system storage") is passed
// on as it is; a cleanup that cannot be reached gives "451 4.3.0 Error:
// queue file write error". A client that goes away in the middle of the
// content, a message over message_size_limit and a reject by
// smtpd_end_of_data_restrictions abort the submission: cleanup removes
// its temporary file and nothing is queued. Connections to cleanup are
// kept in a small pool and reused; a kept connection that turns out
// broken is redialed once.
//
// Log lines have Postfix's shapes: "connect from host[addr]", "QID:
// client=host[addr]", "NOQUEUE: reject: RCPT from host[addr]: 550 5.1.1
// <x@y>: Recipient address rejected: User unknown in local recipient
// table; from=<…> to=<…> proto=ESMTP helo=<…>", "lost connection after
// CMD from …", "timeout after CMD from …", "too many errors after CMD
// from …", "improper command pipelining after CMD from …: …" and
// "disconnect from host[addr] ehlo=1 mail=1 rcpt=0/1 … commands=3/4".
//
// # Access restrictions
//
// The restriction lists smtpd_client_restrictions,
// smtpd_helo_restrictions, smtpd_sender_restrictions,
// smtpd_relay_restrictions, smtpd_recipient_restrictions,
// smtpd_data_restrictions, smtpd_end_of_data_restrictions and
// smtpd_etrn_restrictions are evaluated left to right; the first
// restriction that permits or rejects decides. With smtpd_delay_reject =
// yes (the default) the client, HELO and sender lists are evaluated at
// each RCPT TO; otherwise a client reject replaces the greeting and every
// later command gets "503 5.7.0 Error: access denied for host[addr]".
// smtpd_relay_restrictions run before smtpd_recipient_restrictions when
// smtpd_relay_before_recipient_restrictions is yes. When no list decided
// against a recipient, smtpd_reject_unlisted_recipient checks it against
// the table of its address class (local_recipient_maps,
// virtual_alias_maps, virtual_mailbox_maps, relay_recipient_maps).
//
// Restrictions known:
//
//	generic    permit reject defer defer_if_permit defer_if_reject warn_if_reject
//	           reject_unauth_pipelining reject_plaintext_session sleep N
//	client     permit_mynetworks permit_inet_interfaces check_client_access
//	           check_reverse_client_access reject_unknown_client_hostname
//	           reject_unknown_reverse_client_hostname permit_sasl_authenticated
//	           permit_tls_clientcerts permit_tls_all_clientcerts (the last three
//	           never match yet)
//	helo       check_helo_access reject_invalid_helo_hostname
//	           reject_non_fqdn_helo_hostname reject_unknown_helo_hostname
//	sender     check_sender_access reject_non_fqdn_sender
//	           reject_unknown_sender_domain reject_unlisted_sender
//	recipient  check_recipient_access reject_non_fqdn_recipient
//	           reject_unknown_recipient_domain reject_unlisted_recipient
//	           reject_unauth_destination defer_unauth_destination
//	           permit_auth_destination reject_multi_recipient_bounce
//	etrn       check_etrn_access
//
// plus the names in smtpd_restriction_classes, and a bare "type:table",
// which means the stage's check_*_access. Access tables are searched in
// access(5) order and their values are OK, a number, REJECT [text],
// DEFER [text], 4NN/5NN text, DUNNO, DEFER_IF_PERMIT, DEFER_IF_REJECT,
// HOLD, DISCARD, FILTER transport:destination, REDIRECT address, BCC
// address, PREPEND header: text, INFO, WARN, or a list of restrictions
// (a class name, "permit_mynetworks, reject", …; no tables).
//
// Side effects travel to cleanup with the envelope: HOLD as the
// CleanupHold flag, BCC as an extra recipient with NOTIFY=NEVER,
// REDIRECT by replacing the recipients, FILTER as the envelope attribute
// "filter" (AttrFilter, "transport:destination"). smtpd does DISCARD
// itself (it answers "250 … queued as QID" and queues nothing) and
// PREPEND (the headers go before its Received:).
//
// A table that fails gives a temporary reject ("451 4.3.5 <x>: Recipient
// address rejected: Server configuration error" for access tables, "451
// 4.3.0 <x>: Temporary lookup failure" for recipient validation and
// address resolution), never a silent "not found". A recipient table
// list that cannot be opened at start (a missing .db file) is logged and
// answers with temporary failures until it can be opened.
//
// # Security
//
// smtpd runs as mail_owner and reads nothing a client sends beyond
// fixed limits: a command line is cut at line_length_limit and the rest
// of it skipped, the content at message_size_limit, recipients at
// smtpd_recipient_limit. Every read and write has the smtpd_timeout
// deadline; a timeout in DATA closes the connection. After STARTTLS,
// anything the client sent before the handshake is thrown away. Commands
// that look like a mail header or an HTTP request
// (smtpd_forbidden_commands) end the session at once. smtpd opens no
// file a client names.
//
// In "sendmail -bs" mode (-S) smtpd runs as the calling user, serves one
// session on standard input and output, offers no STARTTLS and no ETRN,
// applies no access restrictions unless the caller is mail_owner, and
// submits each message by running postdrop (found beside this binary,
// else in command_directory) with the same frames cleanup reads.
//
// # Configuration
//
// Identity and dialogue: myhostname, mail_name, smtpd_banner,
// smtpd_helo_required, disable_vrfy_command, smtpd_discard_ehlo_keywords,
// smtpd_noop_commands, smtpd_forbidden_commands, smtputf8_enable,
// smtpd_reject_footer, soft_bounce, smtpd_client_port_logging,
// smtpd_peername_lookup (Postern: "no" skips the client host name lookup,
// the client is then "unknown"; for tests and benchmarks that must not
// depend on DNS).
//
// Content filter: content_filter, this service's filter, handed to
// cleanup with every message; "-o content_filter=" on the service that
// takes filtered mail back turns the filter off for it (see cleanup).
//
// Limits and timers: message_size_limit, line_length_limit,
// smtpd_recipient_limit, smtpd_recipient_overshoot_limit, smtpd_timeout,
// smtpd_starttls_timeout, smtpd_error_sleep_time, smtpd_soft_error_limit,
// smtpd_hard_error_limit, smtpd_junk_command_limit, postern_stop_timeout.
//
// TLS: smtpd_tls_security_level (none, may, encrypt; empty reads
// smtpd_use_tls and smtpd_enforce_tls), smtpd_tls_cert_file,
// smtpd_tls_key_file, smtpd_tls_CAfile, smtpd_tls_ask_ccert,
// smtpd_tls_protocols, smtpd_tls_mandatory_protocols,
// smtpd_tls_received_header, smtpd_tls_loglevel, smtpd_tls_wrappermode.
//
// Restrictions: smtpd_client_restrictions, smtpd_helo_restrictions,
// smtpd_sender_restrictions, smtpd_relay_restrictions,
// smtpd_recipient_restrictions, smtpd_data_restrictions,
// smtpd_end_of_data_restrictions, smtpd_etrn_restrictions,
// smtpd_restriction_classes, smtpd_delay_reject,
// smtpd_relay_before_recipient_restrictions,
// smtpd_reject_unlisted_recipient, smtpd_reject_unlisted_sender,
// smtpd_null_access_lookup_key, smtpd_log_access_permit_actions,
// show_user_unknown_table_name, mynetworks, mynetworks_style,
// parent_domain_matches_subdomains, local_recipient_maps,
// virtual_alias_maps, virtual_mailbox_maps, relay_recipient_maps,
// canonical_maps, recipient_canonical_maps, sender_canonical_maps,
// recipient_delimiter, double_bounce_sender, the address classes of
// internal/resolve (mydestination, relay_domains, virtual_alias_domains,
// virtual_mailbox_domains, inet_interfaces, proxy_interfaces, …), and the
// reply codes access_map_reject_code, access_map_defer_code, reject_code,
// defer_code, relay_domains_reject_code, invalid_hostname_reject_code,
// non_fqdn_reject_code, unknown_address_reject_code,
// unknown_client_reject_code, unknown_hostname_reject_code,
// unknown_local_recipient_reject_code,
// unknown_relay_recipient_reject_code,
// unknown_virtual_alias_reject_code, unknown_virtual_mailbox_reject_code,
// multi_recipient_bounce_reject_code, plaintext_reject_code,
// unknown_address_tempfail_action and
// unknown_helo_hostname_tempfail_action.
//
// ETRN: fast_flush_domains (the sites ETRN may flush; others get "459
// <site>: service unavailable").
//
// Queue and accounts: queue_directory, cleanup_service_name,
// command_directory, mail_owner.
//
// # Files
//
//	queue_directory/public/cleanup    where messages go (or private/cleanup)
//	queue_directory/public/qmgr       where ETRN asks for a flush
//	command_directory/postdrop        the -S mode's submission program
//
// # Differences from Postfix
//
// Rejects by smtpd_data_restrictions are logged NOQUEUE: the queue file
// is opened at DATA, after them (Postfix opens it at the first accepted
// recipient). The "QID: client=" line therefore comes at DATA too. A
// message over message_size_limit in DATA gets Postfix's "552 5.3.4
// Error: message file too big"; a refused SIZE= gets "552 5.3.4 Message
// size exceeds fixed limit". XCLIENT, XFORWARD, AUTH, milters, policy
// servers, RBLs and rate limits are not there yet.
package smtpd
