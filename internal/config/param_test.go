package config

import (
	"sort"
	"strings"
	"testing"
)

// Parameters the other parts of Postern and COMPAT.md name: each must be
// in the registry.
var mustKnow = strings.Fields(`
smtpd_recipient_limit smtpd_timeout smtpd_banner smtpd_helo_required smtpd_delay_reject
smtpd_error_sleep_time smtpd_soft_error_limit smtpd_hard_error_limit smtpd_junk_command_limit
smtpd_client_restrictions smtpd_helo_restrictions smtpd_sender_restrictions smtpd_relay_restrictions
smtpd_recipient_restrictions smtpd_data_restrictions smtpd_restriction_classes
smtpd_reject_unlisted_recipient smtpd_tls_security_level smtpd_tls_cert_file smtpd_tls_key_file
access_map_reject_code unknown_local_recipient_reject_code relay_domains_reject_code defer_code
disable_vrfy_command message_size_limit mynetworks mynetworks_style parent_domain_matches_subdomains
local_recipient_maps relay_recipient_maps qmqpd_authorized_clients qmqpd_timeout qmqpd_error_delay
qmgr_message_active_limit qmgr_message_recipient_limit default_destination_concurrency_limit
initial_destination_concurrency default_destination_recipient_limit minimal_backoff_time
maximal_backoff_time maximal_queue_lifetime bounce_queue_lifetime delay_warning_time queue_run_delay
transport_retry_time default_recipient_limit local_destination_concurrency_limit
local_destination_recipient_limit transport_maps relayhost smtp_connect_timeout smtp_helo_timeout
smtp_mail_timeout smtp_rcpt_timeout smtp_data_init_timeout smtp_data_xfer_timeout smtp_data_done_timeout
smtp_quit_timeout smtp_dns_server smtp_tls_security_level smtp_tls_CAfile smtp_fallback_relay
smtp_connection_cache_on_demand lmtp_tcp_port lmtp_lhlo_name lmtp_connect_timeout
alias_maps alias_database notify_classes bounce_size_limit bounce_notice_recipient
2bounce_notice_recipient error_notice_recipient delay_notice_recipient double_bounce_sender
authorized_mailq_users authorized_flush_users fast_flush_domains service_throttle_time max_idle
max_use default_process_limit maillog_file maillog_file_prefixes import_environment
alternate_config_directories hash_queue_names hash_queue_depth line_length_limit header_size_limit
hopcount_limit header_checks body_checks mime_header_checks nested_header_checks canonical_maps
sender_canonical_maps recipient_canonical_maps masquerade_domains always_bcc sender_bcc_maps
recipient_bcc_maps virtual_alias_maps virtual_alias_domains virtual_mailbox_base virtual_mailbox_maps
virtual_mailbox_domains virtual_mailbox_limit virtual_uid_maps virtual_gid_maps virtual_minimum_uid
mailbox_command mailbox_size_limit home_mailbox mail_spool_directory luser_relay forward_path
allow_mail_to_commands allow_mail_to_files default_privs command_time_limit recipient_delimiter
soft_bounce defer_transports swap_bangpath allow_percent_hack proxy_interfaces inet_protocols
inet_interfaces postern_stop_timeout config_directory queue_directory mail_owner setgid_group
mail_name syslog_name daemon_directory command_directory enable_long_queue_ids compatibility_level
myhostname mydomain myorigin mydestination relay_domains local_transport virtual_transport
relay_transport default_transport content_filter smtpd_milters non_smtpd_milters milter_protocol
milter_default_action postscreen_access_list postscreen_greet_wait mailbox_delivery_lock
prepend_delivered_header command_expansion_filter bounce_template_file smtpd_proxy_filter
default_rbl_reply smtpd_policy_service_default_action smtputf8_enable service_name process_name stress
`)

func TestRegistry(t *testing.T) {
	ps := Params()
	if len(ps) < 300 {
		t.Errorf("only %d parameters", len(ps))
	}
	if !sort.SliceIsSorted(ps, func(i, j int) bool { return ps[i].Name < ps[j].Name }) {
		t.Error("Params is not sorted")
	}
	for i, p := range ps {
		if i > 0 && ps[i-1].Name == p.Name {
			t.Errorf("%s twice", p.Name)
		}
		if p.Doc == "" || strings.Contains(p.Doc, "\n") {
			t.Errorf("%s: doc %q is not one line", p.Name, p.Doc)
		}
		if p.Kind < KindString || p.Kind > KindList {
			t.Errorf("%s: kind %v", p.Name, p.Kind)
		}
		if p.Kind == KindTime && !strings.ContainsRune("smhdw", rune(p.Unit)) {
			t.Errorf("%s: unit %q", p.Name, p.Unit)
		}
		if p.Kind != KindTime && p.Unit != 0 {
			t.Errorf("%s: unit on a %v", p.Name, p.Kind)
		}
	}
	for _, n := range mustKnow {
		if _, ok := LookupParam(n); !ok {
			t.Errorf("%s is not registered", n)
		}
	}
	if p, _ := LookupParam("myhostname"); !strings.Contains(p.Default, ".") {
		t.Errorf("myhostname default %q", p.Default)
	}
	if p, _ := LookupParam("delay_warning_time"); p.Unit != 'h' || p.Kind != KindTime {
		t.Errorf("delay_warning_time: %+v", p)
	}
	if _, ok := LookupParam("relay_destination_concurrency_limit"); ok {
		t.Error("per-transport forms must not be registered")
	}
}

func TestEveryDefaultExpands(t *testing.T) {
	c := Defaults()
	for _, p := range Params() {
		if _, err := c.Expand(p.Name); err != nil {
			t.Errorf("%s: %v", p.Name, err)
		}
	}
	c.Set("stress", "yes")
	c.Set("compatibility_level", "0")
	for _, p := range Params() {
		if _, err := c.Expand(p.Name); err != nil {
			t.Errorf("under stress at level 0, %s: %v", p.Name, err)
		}
	}
	if got := c.Get("relay_domains"); got != c.Get("mydestination") {
		t.Errorf("compatibility_level 0: relay_domains = %q", got)
	}
}
