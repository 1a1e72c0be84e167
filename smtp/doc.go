// Package smtp is Postern's SMTP and LMTP delivery agent: the smtp and
// lmtp daemons.
//
// # Synopsis
//
//	smtp unix - - n - - smtp        (master.cf; also relay … smtp)
//	lmtp unix - - n - - lmtp
//
// # Description
//
// The agent takes delivery requests from qmgr (proto's deliver protocol on
// private/SERVICE): a queue file, a sender, a batch of recipients of one
// next hop. It reads the message from the queue file, delivers it to the
// next hop over SMTP (or LMTP) and answers one status per recipient, in
// request order, logging each the way Postfix does:
//
//	QID: to=<bob@remote.test>, relay=mx.remote.test[192.0.2.1]:25, delay=0.07,
//	    delays=0.03/0/0.02/0.02, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as X)
//
// delays are: before the active queue / in the active queue / connection
// setup (DNS, connect, greeting, EHLO, TLS) / transmission. The agent never
// changes the queue file; qmgr marks recipients done once the reply says
// the delivery is durable (a 250 after the message).
//
// Many requests are served at once (up to the master.cf process limit),
// each in its own goroutine.
//
// # Next hops
//
// A next hop (from the transport, relayhost or transport_maps) is one
// destination or a list separated by commas or spaces, tried in order:
//
//	example.com          MX lookup; the domain's own addresses when it has
//	                     no MX records
//	example.com:2525     the same on another port
//	[mx.example.com]:587 the host's addresses, no MX lookup
//	[192.0.2.1], [ipv6:2001:db8::1]:25
//	inet:host:port       (LMTP) a TCP server
//	unix:/path           (LMTP) a Unix socket; a relative path is under
//	                     queue_directory, as in unix:private/dovecot-lmtp
//
// The default port is smtp_tcp_port (25) or lmtp_tcp_port (24). The LMTP
// client never looks up MX records. MX hosts are tried in preference
// order, hosts of equal preference in random order
// (smtp_randomize_addresses), IPv4 and IPv6 as inet_protocols and
// smtp_address_preference say, at most smtp_mx_address_limit addresses and
// smtp_mx_session_limit sessions per delivery. When this host is an MX
// host of the domain, only better MX hosts are used; when it is the best,
// the mail bounces: "mail for DOMAIN loops back to myself" (5.4.6). When
// every server fails, smtp_fallback_relay is tried.
//
// Names are looked up with Postern's own DNS client against
// smtp_dns_server (host:port, several allowed), or the servers of
// /etc/resolv.conf when it is empty. smtp_host_lookup = native adds the
// system resolver for host addresses (never for MX records). A name that
// does not exist bounces ("Host or domain name not found. Name service
// error for name=x type=MX: Host not found", 5.4.4); a lookup that gets no
// answer defers (4.4.3). A domain with a null MX (RFC 7505) bounces
// (5.1.0).
//
// # The conversation
//
// EHLO with smtp_helo_name (HELO when the server does not know EHLO);
// STARTTLS per smtp_tls_security_level; MAIL FROM with SIZE (the queue
// file's content size), BODY=8BITMIME when the server offers 8BITMIME
// (BODY=7BIT for mail received as 7BIT), SMTPUTF8 when the sender asked
// for it or an envelope address needs it, and RET and ENVID when the
// server offers DSN; RCPT TO with NOTIFY and ORCPT (the original
// recipient when the client gave none) for a DSN server; DATA; the message
// with CRLF line ends, leading dots doubled, every other byte as stored,
// lines longer than smtp_line_length_limit broken with CRLF SPACE. With
// PIPELINING, MAIL, the RCPTs and DATA go in one write. Every read and
// write has its stage's time limit and ends when the delivery is
// cancelled.
//
// A recipient the server refuses with 5xx fails (bounces); with 4xx it is
// delayed and tried at the next server, if any. Only accepted recipients
// get the message. The reply to the end of the message applies to every
// accepted recipient (SMTP) or comes one per recipient (LMTP). A message
// larger than the server's SIZE bounces unsent ("message size N exceeds
// size limit M of server host[ip]", 5.3.4); a UTF-8 envelope for a server
// without SMTPUTF8 bounces (5.6.7). Reasons have Postfix's wording:
//
//	host mx[192.0.2.1] said: 550 5.1.1 <x@y>: User unknown (in reply to RCPT TO command)
//	host mx[192.0.2.1] refused to talk to me: 554 5.7.1 go away
//	connect to mx[192.0.2.1]:25: Connection refused
//	conversation with mx[192.0.2.1] timed out while receiving the initial server greeting
//	lost connection with mx[192.0.2.1] while sending end of data -- message may be sent more than once
//
// A result from a server carries its reply as the DSN Diagnostic-Code
// (smtp; …) and the server's name as Remote-MTA. When no server of the
// destination could be reached, or all refused to talk (greeting or
// EHLO), the reply says the destination is dead, so that qmgr may suspend
// it. A 5xx greeting only defers (smtp_skip_5xx_greeting).
//
// # Connection reuse
//
// After a delivery a session in a clean state waits, by next hop, up to
// smtp_connection_cache_time_limit for the next request to the same next
// hop, which then skips DNS, connect, greeting, EHLO and TLS; a session is
// reused for at most smtp_connection_reuse_time_limit and
// smtp_connection_reuse_count_limit messages. Postfix keeps sessions only
// for destinations with a backlog; Postern cannot see the backlog and
// keeps every one when smtp_connection_cache_on_demand is on (a session
// nobody wants ends after the short time limit), and always for the
// destinations in smtp_connection_cache_destinations. Instead of
// Postfix's RSET probe before reuse, a session the server closed while it
// waited is noticed at its first reply and replaced, silently, by a new
// one: nothing had been sent that could be delivered twice. TLS sessions
// are reused too (Postfix needs tlsproxy for that).
//
// # TLS
//
// smtp_tls_security_level: none; may (STARTTLS when offered, any
// certificate; a failed handshake is retried at once in plain text);
// encrypt (TLS required, any certificate: "TLS is required, but was not
// offered by host x", 4.7.4); verify (the chain must lead to
// smtp_tls_CAfile, smtp_tls_CApath or the system's roots, and a name in
// the certificate must match smtp_tls_verify_cert_match, by default the MX
// host name); secure (the same with smtp_tls_secure_cert_match, by default
// the next-hop domain and its subdomains). A certificate that fails gives
// "Server certificate not verified" (4.7.5) and the next server is tried.
// dane is treated as may; fingerprint is not supported. An empty level
// comes from the obsolete smtp_use_tls, smtp_enforce_tls and
// smtp_tls_enforce_peername. smtp_tls_protocols (or, for encrypt and
// above, smtp_tls_mandatory_protocols) sets the oldest version allowed;
// smtp_tls_cert_file and smtp_tls_key_file give a client certificate;
// smtp_tls_servername the SNI name (hostname, nexthop or a name; none by
// default). With smtp_tls_loglevel 1 or more each new TLS session is
// logged: "Verified TLS connection established to mx[ip]:25: TLSv1.3 with
// cipher …".
//
// # LMTP
//
// The lmtp daemon is the same agent: LHLO instead of EHLO, one reply per
// accepted recipient after the message, success as "delivered" rather than
// "relayed", and the lmtp_ form of every smtp_ parameter below
// (lmtp_lhlo_name, lmtp_lhlo_timeout and lmtp_discard_lhlo_keywords for
// the HELO ones). A Unix socket server is named myhostname[path] in logs.
//
// # Address verification
//
// A request with the verify flag (sendmail -bv) is a probe: MAIL and RCPT,
// then RSET, no message. An accepted recipient is "deliverable" with the
// server's RCPT reply, a refused one undeliverable; the log says
// status=deliverable / status=undeliverable.
//
// # Security
//
// The agent runs as mail_owner and opens the queue file read-only. What
// servers send is limited (a reply line to 2048 bytes, a reply to 100
// lines) and cleaned of control characters before it reaches a log line or
// a bounce. Envelope addresses with control characters are refused before
// they reach a command line. Certificates are checked only at levels
// verify and secure, as in Postfix: may and encrypt protect against
// passive eavesdropping only.
//
// # Configuration
//
// Read at start (the lmtp daemon reads lmtp_ instead of smtp_):
//
//	smtp_connect_timeout (30s; lmtp 0s: the system's, capped at 75s)
//	smtp_helo_timeout (300s)           greeting and EHLO/HELO replies
//	smtp_starttls_timeout (300s)       STARTTLS reply and handshake
//	smtp_mail_timeout (300s), smtp_rcpt_timeout (300s)
//	smtp_data_init_timeout (120s)      the reply to DATA
//	smtp_data_xfer_timeout (180s)      each write of the message
//	smtp_data_done_timeout (600s)      the reply after the final dot
//	smtp_rset_timeout (20s), smtp_quit_timeout (300s)
//	smtp_helo_name ($myhostname), smtp_always_send_ehlo (yes),
//	smtp_never_send_ehlo (no), smtp_discard_ehlo_keywords
//	smtp_tcp_port (smtp), smtp_dns_server, smtp_host_lookup (dns),
//	smtp_address_preference (any), inet_protocols (all)
//	smtp_mx_address_limit (5), smtp_mx_session_limit (2),
//	smtp_randomize_addresses (yes), smtp_defer_if_no_mx_address_found (no)
//	smtp_fallback_relay ($fallback_relay)
//	smtp_bind_address, smtp_bind_address6
//	smtp_skip_5xx_greeting (yes), smtp_skip_quit_response (yes)
//	smtp_line_length_limit (998; 0: no limit)
//	smtp_connection_cache_on_demand (yes),
//	smtp_connection_cache_destinations, smtp_connection_cache_time_limit
//	(2s), smtp_connection_reuse_time_limit (300s),
//	smtp_connection_reuse_count_limit (0)
//	smtp_tls_security_level, smtp_use_tls, smtp_enforce_tls,
//	smtp_tls_enforce_peername, smtp_tls_CAfile, smtp_tls_CApath,
//	smtp_tls_cert_file, smtp_tls_key_file, smtp_tls_protocols,
//	smtp_tls_mandatory_protocols, smtp_tls_verify_cert_match,
//	smtp_tls_secure_cert_match, smtp_tls_servername, smtp_tls_loglevel
//	myhostname                          loop detection, socket server names
//	inet_interfaces, proxy_interfaces   this host's addresses (an MX host on
//	                                    one of them, port 25, is this host)
//	queue_directory, hash_queue_names, hash_queue_depth
//	max_idle (100s)                     how long a qmgr connection may idle
//	postern_stop_timeout (30s)          grace for deliveries at a stop
//
// # Files
//
//	queue_directory/active/…            queue files (read only)
//	queue_directory/private/smtp, …     the service sockets (from master)
//	/etc/resolv.conf                    DNS servers when smtp_dns_server is empty
package smtp
