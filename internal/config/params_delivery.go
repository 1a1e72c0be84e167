package config

// The local delivery agent.
var localParams = []Param{
	pString("mail_spool_directory", "/var/mail", "directory of mbox mailboxes (ends in / for Maildir)"),
	pString("home_mailbox", "", "mailbox relative to the home directory (Mailbox, or Maildir/ for Maildir); empty: mail_spool_directory"),
	pString("mailbox_command", "", "command that delivers to the mailbox instead of local (such as procmail)"),
	pList("mailbox_command_maps", "", "tables of mailbox commands by user"),
	pString("mailbox_transport", "", "transport that delivers to mailboxes instead of local"),
	pList("mailbox_transport_maps", "", "tables of mailbox transports by recipient"),
	pSize("mailbox_size_limit", "51200000", "largest mailbox or Maildir file (0: no limit)"),
	pList("mailbox_delivery_lock", "fcntl, dotlock", "locks taken on an mbox mailbox: flock, fcntl, dotlock"),
	pString("luser_relay", "", "address that gets mail for unknown local users ($user, $recipient, … are expanded)"),
	pString("fallback_transport", "", "transport for local recipients without a Unix account"),
	pList("fallback_transport_maps", "", "tables of transports for local recipients without a Unix account"),
	pList("forward_path", "$home/.forward${recipient_delimiter}${extension}, $home/.forward", ".forward files looked for, in order ($home, $user, $extension, … are expanded)"),
	pString("forward_expansion_filter", "1234567890!@%-_=+:,./abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", "characters allowed in forward_path expansions"),
	pList("allow_mail_to_commands", "alias, forward", "where |command destinations are allowed: alias, forward, include"),
	pList("allow_mail_to_files", "alias, forward", "where /file destinations are allowed: alias, forward, include"),
	pTime("command_time_limit", "1000s", "time limit for a delivery to a command"),
	pString("command_execution_directory", "", "working directory of commands local runs"),
	pString("command_expansion_filter", "1234567890!@%-_=+:,./abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", "characters allowed in the environment of commands local runs"),
	pString("execution_directory_expansion_filter", "1234567890!@%-_=+:,./abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", "characters allowed in command_execution_directory expansions"),
	pString("local_command_shell", "", "shell for commands local runs (empty: /bin/sh, or direct when no shell syntax)"),
	pList("prepend_delivered_header", "command, file, forward", "deliveries that get a Delivered-To: header"),
	pBool("require_home_directory", "no", "defer delivery when the recipient's home directory is missing"),
	pBool("strict_mailbox_ownership", "yes", "defer delivery to an mbox not owned by the recipient"),
	pBool("biff", "yes", "notify the comsat service of new mail"),
	pBool("owner_request_special", "yes", "treat owner-x and x-request addresses specially"),
	pBool("expand_owner_alias", "no", "deliver bounces of a list to its owner-alias's expansion"),
	pBool("reset_owner_alias", "no", "reset the owner alias of mail that leaves a list"),
	pBool("frozen_delivered_to", "yes", "add Delivered-To: once, as the recipient was at the start of delivery"),
	pString("local_delivery_status_filter", "$default_delivery_status_filter", "table that rewrites local's delivery status"),
}

// The virtual delivery agent.
var virtualParams = []Param{
	pString("virtual_mailbox_base", "", "directory virtual_mailbox_maps paths are relative to"),
	pList("virtual_mailbox_maps", "", "tables of mailbox paths by recipient (ending in / for Maildir)"),
	pList("virtual_mailbox_domains", "$virtual_mailbox_maps", "domains delivered by $virtual_transport"),
	pList("virtual_uid_maps", "", "tables of mailbox owner uids by recipient (static:N for one)"),
	pList("virtual_gid_maps", "", "tables of mailbox group ids by recipient (static:N for one)"),
	pInt("virtual_minimum_uid", "100", "smallest uid virtual delivers as"),
	pSize("virtual_mailbox_limit", "51200000", "largest virtual mailbox or Maildir file (0: no limit)"),
	pList("virtual_mailbox_lock", "fcntl, dotlock", "locks taken on a virtual mbox mailbox"),
	pString("virtual_delivery_status_filter", "$default_delivery_status_filter", "table that rewrites virtual's delivery status"),
}

// Transports, pipe and the error transport.
var deliveryParams = []Param{
	pString("default_transport", "smtp", "transport for mail to other domains"),
	pString("relay_transport", "relay", "transport for mail to relay_domains"),
	pString("local_transport", "local:$myhostname", "transport for mail to mydestination"),
	pString("virtual_transport", "virtual", "transport for mail to virtual_mailbox_domains"),
	pBool("ignore_mx_lookup_error", "no", "look up the address of a domain whose MX lookup failed instead of deferring"),
	pString("best_mx_transport", "", "transport used when this host is the best MX for a domain (empty: bounce as a loop)"),
	pString("pipe_delivery_status_filter", "$default_delivery_status_filter", "table that rewrites pipe's delivery status"),
	pTime("connection_cache_protocol_timeout", "5s", "time limit for talking to the connection cache"),
	pTime("connection_cache_status_update_time", "600s", "how often connection cache statistics are logged"),
	pTime("connection_cache_ttl_limit", "2s", "longest time a connection is cached"),
	pSize("tcp_windowsize", "0", "TCP window size for SMTP and LMTP (0: the system's)"),
}

// The QMQP server.
var qmqpdParams = []Param{
	pList("qmqpd_authorized_clients", "", "clients allowed to send mail with QMQP"),
	pTime("qmqpd_timeout", "300s", "time limit for reading a QMQP request"),
	pTime("qmqpd_error_delay", "1s", "pause before answering a QMQP request with an error"),
	pBool("qmqpd_client_port_logging", "no", "log the client's port with its address"),
}
