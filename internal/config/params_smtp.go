package config

import "strings"

// The SMTP client. Every parameter here, except those in smtpOnly, also
// exists as lmtp_… for the LMTP client (see lmtpParams).
var smtpParams = []Param{
	pString("smtp_dns_server", "", "host:port of a DNS server for MX and address lookups; empty uses the system resolver (Postern)"),
	pTime("smtp_connect_timeout", "30s", "time limit for a TCP connection to a server (0: the system's)"),
	pTime("smtp_helo_timeout", "300s", "time limit for the server's greeting and its EHLO/HELO reply"),
	pTime("smtp_xforward_timeout", "300s", "time limit for the reply to XFORWARD"),
	pTime("smtp_starttls_timeout", "300s", "time limit for STARTTLS and the TLS handshake"),
	pTime("smtp_mail_timeout", "300s", "time limit for the reply to MAIL FROM"),
	pTime("smtp_rcpt_timeout", "300s", "time limit for the reply to RCPT TO"),
	pTime("smtp_data_init_timeout", "120s", "time limit for the reply to DATA"),
	pTime("smtp_data_xfer_timeout", "180s", "time limit for sending each part of the message"),
	pTime("smtp_data_done_timeout", "600s", "time limit for the reply after the final dot"),
	pTime("smtp_rset_timeout", "20s", "time limit for the reply to RSET"),
	pTime("smtp_quit_timeout", "300s", "time limit for the reply to QUIT"),
	pBool("smtp_per_request_deadline", "${smtp_per_record_deadline?{$smtp_per_record_deadline}:{no}}", "apply the timeouts to a whole command or message instead of each write"),
	pInt("smtp_min_data_rate", "500", "least bytes per second with smtp_per_request_deadline"),
	pString("smtp_helo_name", "$myhostname", "name sent in EHLO and HELO"),
	pBool("smtp_always_send_ehlo", "yes", "send EHLO even if the greeting does not mention ESMTP"),
	pBool("smtp_never_send_ehlo", "no", "send HELO instead of EHLO"),
	pList("smtp_discard_ehlo_keywords", "", "EHLO keywords of servers that are ignored"),
	pList("smtp_discard_ehlo_keyword_address_maps", "", "tables of EHLO keywords to ignore, by server address"),
	pString("smtp_tcp_port", "smtp", "port used when a next hop has none"),
	pString("smtp_host_lookup", "dns", "how host names are looked up: dns, native or both"),
	pString("smtp_dns_support_level", "", "DNS features used: disabled, enabled or dnssec"),
	pList("smtp_dns_resolver_options", "", "resolver options for the client's DNS lookups"),
	pString("smtp_dns_reply_filter", "", "table that rewrites DNS replies the client looks at"),
	pString("smtp_address_preference", "any", "which address family to try first: any, ipv4 or ipv6"),
	pBool("smtp_balance_inet_protocols", "yes", "mix IPv4 and IPv6 addresses when both exist"),
	pInt("smtp_mx_address_limit", "5", "most addresses tried from MX lookups (0: no limit)"),
	pInt("smtp_mx_session_limit", "2", "most sessions tried per delivery (0: no limit)"),
	pBool("smtp_defer_if_no_mx_address_found", "no", "defer, not bounce, when MX hosts have no address"),
	pBool("smtp_cname_overrides_servername", "no", "use a CNAME's target as the server name for TLS and logs"),
	pBool("smtp_randomize_addresses", "yes", "shuffle servers of equal preference"),
	pString("smtp_bind_address", "", "local IPv4 address for outgoing connections"),
	pString("smtp_bind_address6", "", "local IPv6 address for outgoing connections"),
	pBool("smtp_bind_address_enforce", "no", "defer when the bind address cannot be used"),
	pList("smtp_fallback_relay", "$fallback_relay", "relays tried when the destination's servers cannot be reached"),
	pBool("smtp_connection_cache_on_demand", "yes", "keep connections open to destinations with a backlog"),
	pList("smtp_connection_cache_destinations", "", "destinations whose connections are always kept open"),
	pTime("smtp_connection_cache_time_limit", "2s", "how long an idle connection is kept for reuse"),
	pInt("smtp_connection_reuse_count_limit", "0", "most messages per connection (0: no limit)"),
	pTime("smtp_connection_reuse_time_limit", "300s", "how long a connection may be reused"),
	pSize("smtp_line_length_limit", "998", "longest line sent; longer lines are folded (0: no limit)"),
	pBool("smtp_quote_rfc821_envelope", "yes", "quote addresses in MAIL FROM and RCPT TO as RFC 5321 asks"),
	pBool("smtp_skip_5xx_greeting", "yes", "try the next server when one greets with 5xx"),
	pBool("smtp_skip_quit_response", "yes", "do not wait for the reply to QUIT"),
	pBool("smtp_send_xforward_command", "no", "send XFORWARD with the original client's details"),
	pBool("smtp_send_dummy_mail_auth", "no", "send AUTH=<> with MAIL FROM when not authenticating"),
	pString("smtp_address_verify_target", "rcpt", "last command of an address probe: rcpt or data"),
	pString("smtp_delivery_status_filter", "$default_delivery_status_filter", "table that rewrites the client's delivery status"),
	pString("smtp_reply_filter", "", "table that rewrites server replies before they are parsed"),
	pList("smtp_generic_maps", "", "tables that rewrite addresses of outgoing mail"),
	pList("smtp_header_checks", "", "pattern tables applied to headers when sending"),
	pList("smtp_mime_header_checks", "", "pattern tables applied to MIME headers when sending"),
	pList("smtp_nested_header_checks", "", "pattern tables applied to attached message headers when sending"),
	pList("smtp_body_checks", "", "pattern tables applied to body lines when sending"),
	pList("smtp_pix_workarounds", "disable_esmtp,delay_dotcrlf", "workarounds for broken Cisco PIX firewalls"),
	pList("smtp_pix_workaround_maps", "", "tables of PIX workarounds by server"),
	pTime("smtp_pix_workaround_delay_time", "10s", "pause before the final dot for PIX workarounds"),
	pTime("smtp_pix_workaround_threshold_time", "500s", "message age from which PIX workarounds apply"),
	pBool("smtp_sasl_auth_enable", "no", "authenticate to servers with SASL"),
	pList("smtp_sasl_password_maps", "", "tables of username:password by server or sender"),
	pString("smtp_sasl_type", "cyrus", "SASL implementation for the client"),
	pString("smtp_sasl_path", "", "SASL configuration name for the client"),
	pList("smtp_sasl_security_options", "noplaintext, noanonymous", "SASL mechanism properties required without TLS"),
	pList("smtp_sasl_tls_security_options", "$smtp_sasl_security_options", "SASL mechanism properties required with TLS"),
	pList("smtp_sasl_tls_verified_security_options", "$smtp_sasl_tls_security_options", "SASL mechanism properties required with verified TLS"),
	pList("smtp_sasl_mechanism_filter", "", "which server SASL mechanisms to use"),
	pString("smtp_sasl_auth_cache_name", "", "table of failed logins, so they are not retried"),
	pTime("smtp_sasl_auth_cache_time", "90d", "how long a failed login is remembered"),
	pBool("smtp_sasl_auth_soft_bounce", "yes", "defer, not bounce, when a login fails"),
	pBool("smtp_sender_dependent_authentication", "no", "choose the login by sender address"),
}

// The SMTP client's TLS.
var smtpTLSParams = []Param{
	pString("smtp_tls_security_level", "", "TLS in the SMTP client: none, may, encrypt, dane, verify or secure; empty: from smtp_use_tls and smtp_enforce_tls"),
	pBool("smtp_use_tls", "no", "obsolete; use smtp_tls_security_level = may"),
	pBool("smtp_enforce_tls", "no", "obsolete; use smtp_tls_security_level = encrypt"),
	pBool("smtp_tls_enforce_peername", "yes", "obsolete; use smtp_tls_security_level = verify"),
	pString("smtp_tls_CAfile", "", "PEM file of CA certificates for verifying servers"),
	pString("smtp_tls_CApath", "", "directory of CA certificates for verifying servers"),
	pString("smtp_tls_cert_file", "", "PEM file with the client's certificate"),
	pString("smtp_tls_key_file", "$smtp_tls_cert_file", "PEM file with the client's private key"),
	pList("smtp_tls_chain_files", "", "PEM files with the client's keys and certificate chains"),
	pString("smtp_tls_dcert_file", "", "PEM file with the client's DSA certificate"),
	pString("smtp_tls_dkey_file", "$smtp_tls_dcert_file", "PEM file with the client's DSA private key"),
	pString("smtp_tls_eccert_file", "", "PEM file with the client's ECDSA certificate"),
	pString("smtp_tls_eckey_file", "$smtp_tls_eccert_file", "PEM file with the client's ECDSA private key"),
	pList("smtp_tls_policy_maps", "", "tables of TLS security levels by destination"),
	pList("smtp_tls_per_site", "", "obsolete; use smtp_tls_policy_maps"),
	pString("smtp_tls_loglevel", "0", "how much TLS detail to log: 0 to 4"),
	pList("smtp_tls_protocols", ">=TLSv1", "TLS versions allowed with opportunistic TLS"),
	pList("smtp_tls_mandatory_protocols", ">=TLSv1", "TLS versions allowed when TLS is required"),
	pString("smtp_tls_ciphers", "medium", "cipher grade with opportunistic TLS"),
	pString("smtp_tls_mandatory_ciphers", "medium", "cipher grade when TLS is required"),
	pList("smtp_tls_exclude_ciphers", "", "ciphers never used"),
	pList("smtp_tls_mandatory_exclude_ciphers", "", "ciphers not used when TLS is required"),
	pList("smtp_tls_verify_cert_match", "hostname", "names a server certificate must match at level verify"),
	pList("smtp_tls_secure_cert_match", "nexthop, dot-nexthop", "names a server certificate must match at level secure"),
	pList("smtp_tls_fingerprint_cert_match", "", "certificate fingerprints accepted at level fingerprint"),
	pString("smtp_tls_fingerprint_digest", "${{$compatibility_level} <level {3.6} ? {md5} : {sha256}}", "digest used for certificate fingerprints"),
	pInt("smtp_tls_scert_verifydepth", "9", "longest server certificate chain checked"),
	pString("smtp_tls_servername", "", "SNI name sent to servers (hostname, nexthop, or a name)"),
	pList("smtp_tls_trust_anchor_file", "", "PEM files of trust anchors for verifying servers"),
	pBool("smtp_tls_note_starttls_offer", "no", "log servers that offer STARTTLS when TLS is not used"),
	pBool("smtp_tls_block_early_mail_reply", "no", "detect servers that reply to MAIL before TLS is done"),
	pBool("smtp_tls_connection_reuse", "no", "reuse TLS connections through a connection cache"),
	pBool("smtp_tls_force_insecure_host_tlsa_lookup", "no", "look up TLSA records even for hosts without DNSSEC"),
	pString("smtp_tls_dane_insecure_mx_policy", "${{$smtp_tls_security_level} == {dane} ? {dane} : {may}}", "TLS level for MX hosts without DNSSEC under DANE"),
	pString("smtp_tls_session_cache_database", "", "table of TLS sessions for resumption (Postern keeps them in memory)"),
	pTime("smtp_tls_session_cache_timeout", "3600s", "how long a TLS session may be resumed"),
	pBool("smtp_tls_wrappermode", "no", "speak TLS from the first byte (port 465)"),
}

// smtpOnly are smtp_ parameters with no lmtp_ twin: LMTP has LHLO.
var smtpOnly = map[string]bool{
	"smtp_always_send_ehlo":                  true,
	"smtp_discard_ehlo_keyword_address_maps": true,
	"smtp_discard_ehlo_keywords":             true,
	"smtp_helo_name":                         true,
	"smtp_helo_timeout":                      true,
	"smtp_never_send_ehlo":                   true,
	"smtp_tls_dane_insecure_mx_policy":       true,
}

// lmtpDefaults are the lmtp_ defaults that are not the smtp_ one renamed.
var lmtpDefaults = map[string]string{
	"lmtp_connect_timeout":           "0s",
	"lmtp_fallback_relay":            "",
	"lmtp_skip_quit_response":        "no",
	"lmtp_tcp_port":                  "24",
	"lmtp_tls_secure_cert_match":     "nexthop",
	"lmtp_per_request_deadline":      "${lmtp_per_record_deadline?{$lmtp_per_record_deadline}:{no}}",
	"lmtp_sasl_tls_security_options": "$lmtp_sasl_security_options",
}

// lmtpParams derives the LMTP client's parameters from the SMTP client's.
func lmtpParams() []Param {
	out := []Param{
		pBool("lmtp_assume_final", "no", "treat a 250 after DATA as final delivery for DSN success notices"),
		pString("lmtp_lhlo_name", "$myhostname", "name sent in LHLO"),
		pTime("lmtp_lhlo_timeout", "300s", "time limit for the server's greeting and its LHLO reply"),
		pList("lmtp_discard_lhlo_keywords", "", "LHLO keywords of servers that are ignored"),
		pList("lmtp_discard_lhlo_keyword_address_maps", "", "tables of LHLO keywords to ignore, by server address"),
	}
	for _, t := range [][]Param{smtpParams, smtpTLSParams} {
		for _, p := range t {
			if smtpOnly[p.Name] {
				continue
			}
			p.Name = "lmtp_" + strings.TrimPrefix(p.Name, "smtp_")
			if d, ok := lmtpDefaults[p.Name]; ok {
				p.Default = d
			} else {
				p.Default = strings.ReplaceAll(p.Default, "$smtp_", "$lmtp_")
			}
			p.Doc = "LMTP client: " + p.Doc
			out = append(out, p)
		}
	}
	return out
}
