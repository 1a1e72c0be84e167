// Package local is Postern's local delivery agent, the local daemon: mail
// for the domains of mydestination goes through aliases and .forward files
// to mailboxes, files and commands.
//
// # Synopsis
//
//	local unix - n n - - local        (master.cf)
//
// # Description
//
// qmgr hands the agent delivery requests (proto's deliver protocol on
// private/local): a queue file and a batch of its recipients, normally one
// (local_destination_recipient_limit = 1). The agent reads the message from
// the queue file, delivers each recipient and answers one status per
// recipient; it never changes the queue file. Each final destination is
// logged the way Postfix does:
//
//	QID: to=<bob@mx.example.test>, orig_to=<list@mx.example.test>, relay=local,
//	    delay=0.03, delays=0.01/0.02/0/0, dsn=2.0.0, status=sent (delivered to mailbox)
//
// The reasons are Postfix's: "delivered to mailbox", "delivered to
// maildir", "delivered to file: /path", "delivered to command: cmd",
// "forwarded as QID", `unknown user: "x"` (5.1.1), "mail forwarding loop
// for x" (5.4.6).
//
// Lookup order. Every decision uses the local part of the address, in
// lower case. With recipient_delimiter set, bob+ext is looked up as
// bob+ext, then bob (with owner_request_special, owner-x and x-request are
// not split at a '-' delimiter). For each address:
//
//  1. A Delivered-To header of the message that names the address already
//     means a loop: the address bounces ("mail forwarding loop for x").
//  2. \user (from a list) goes straight to user's mailbox.
//  3. alias_maps: the first table that has the name gives a list of
//     destinations (aliases(5): addresses, /file, "|command",
//     :include:/file). A table lookup that fails defers.
//  4. ~/.forward: the first file of forward_path that exists gives a list
//     of destinations, read with the user's rights. An empty file is
//     ignored; naming yourself ("bob" or "\bob") delivers to your mailbox.
//     The file must be the user's (or root's) and not world-writable.
//  5. The mailbox: mailbox_transport_maps, mailbox_transport (handed to
//     that transport's agent, which logs the delivery), then, for a user
//     in the passwd file, mailbox_command_maps, mailbox_command, a Maildir
//     (home_mailbox ending in '/', or mail_spool_directory ending in '/'),
//     an mbox in the home (home_mailbox) or in mail_spool_directory.
//  6. No such user: fallback_transport_maps, fallback_transport,
//     luser_relay (an address, with $user, $local, $extension, $domain,
//     $recipient, $home, $shell expanded), else a bounce
//     (`unknown user: "x"`, 5.1.1).
//
// Lists. An address in an alias, .forward or :include: list that this
// agent delivers (a local domain) is delivered at once, within the same
// request, down the same lookup order; others are forwarded. An alias
// that lists its own name delivers to the user's mailbox. Within a
// request every destination gets one copy (duplicate_filter_limit
// entries are remembered). Nesting stops after 100 levels ("recipient
// nesting limit exceeded", 5.4.6).
//
// Mailing lists. When an alias NAME has an owner-NAME alias (and
// owner_request_special = yes), the copies for the list's members are
// resubmitted as a new message whose envelope sender is
// owner-NAME@$myorigin (the owner-NAME alias's value with
// expand_owner_alias = yes), so that the owner, not the original sender,
// hears of the members' failures; the DSN envelope (ENVID, RET, ORCPT)
// stays behind. Addresses from :include: files, and addresses other than
// the user's own in a .forward file, are always resubmitted.
//
// Forwarding. Forwarded addresses are resubmitted through cleanup
// (public/$cleanup_service_name) as a new message with the original
// arrival time and, before the message, as in Postfix, a "Received: by
// $myhostname ($mail_name) id QUEUEID; DATE" header and a "Delivered-To:
// ADDRESS" header (prepend_delivered_header contains forward), so a loop
// comes back as the loop of step 1. Each is logged "forwarded as
// NEWQID".
//
// Mailbox formats. An mbox gets "From SENDER  Sun Nov 22 11:07:19 2026",
// Return-Path: <SENDER>, X-Original-To: RECIPIENT (as received),
// Delivered-To: RECIPIENT, ">From " quoting of lines starting with "From
// ", and a blank line at the end; it is locked as mailbox_delivery_lock
// says (fcntl and a FILE.lock dot-lock by default, deliver_lock_attempts
// tries deliver_lock_delay apart, dot-locks older than stale_lock_time
// removed), appended to, fsynced, and truncated back to its old size when
// anything fails. A Maildir file gets the three headers, is written in
// tmp/, fsynced, renamed into new/ as SEC.VdevIinoMusec.HOST, and new/ is
// fsynced: the delivery is durable before it is reported. mailbox_size_limit
// bounds an mbox after the append and a Maildir file (5.2.2).
//
// Commands run directly when the command line has only plain characters
// and names a program on /usr/bin:/bin, through /bin/sh -c otherwise (or
// through local_command_shell when set). The message arrives on standard
// input with a From_ line, Return-Path, X-Original-To and Delivered-To. The
// working directory is command_execution_directory, else the queue
// directory. The environment holds export_environment, PATH=/usr/bin:/bin,
// HOME, SHELL, USER, LOGNAME, LOCAL, DOMAIN, EXTENSION, RECIPIENT, SENDER,
// ORIGINAL_RECIPIENT, and CLIENT_HOSTNAME, CLIENT_ADDRESS, CLIENT_HELO,
// CLIENT_PROTOCOL, SASL_METHOD, SASL_SENDER, SASL_USERNAME when known;
// characters of these values outside command_expansion_filter become '_'.
// The exit status follows sysexits.h: 0 delivered, 75 (EX_TEMPFAIL) and 71
// deferred, 67 (EX_NOUSER) "user unknown" (5.1.1), other codes bounce; an
// output that starts with an enhanced status code ("4.2.2 over quota")
// gives that status and text instead. Output (standard output and error,
// the first 2048 bytes, on one line) is added to the reason. After
// command_time_limit the command and everything it started are killed and
// the mail bounces ("Command time limit exceeded").
//
// Files (/path in a list) get the mbox format and locks (a dot-lock that
// cannot be made is skipped); a path ending in '/' is a Maildir; devices
// such as /dev/null are accepted; executable files are refused.
// allow_mail_to_files and allow_mail_to_commands say where files and
// commands may be named: alias, forward, include ("mail to file is
// restricted", "mail to command is restricted", 5.7.1).
//
// sendmail -bv requests are answered without delivering ("delivers to
// mailbox", "aliased to …"), logged as status=deliverable or
// undeliverable. soft_bounce = yes turns bounces into deferrals.
//
// A recipient's answer to qmgr sums up all its destinations: deferred if
// any was deferred (the recipient is tried again as a whole, which can
// deliver twice to the destinations that had succeeded: the price
// Postfix pays too), else bounced if any bounced, else delivered.
//
// # Security
//
// The agent runs as root (master.cf unpriv column n) so that it can act
// for any user, but never changes the identity of its own process: every
// mailbox write, file write and .forward or :include: read runs in a
// helper process started with the user's IDs (internal/privexec; helpers
// are kept a few seconds per user to save a fork and exec per message),
// and every command is executed with them. Which user:
//
//   - mailboxes, Maildirs and mailbox_command: the recipient (root's
//     mailbox is written as root; root's mailbox_command runs as
//     default_privs);
//   - .forward files and what they name: the recipient;
//   - alias commands and files: the owner of the alias database (FILE.db
//     for hash: tables), or default_privs when root owns it;
//   - :include: files named by a root-owned alias: the include file's
//     owner, so that a user's list cannot act as default_privs;
//   - anything else without a user: default_privs, which must not be root.
//
// In a spool directory users cannot write (root:mail 2775 /var/mail), the
// agent creates a missing mailbox as root, owned by the user (never
// following a symbolic link), and takes the dot-lock as root; the helper
// then appends as the user with the spool's group when the spool is
// group-writable. A mailbox must be a regular file with one link, owned by
// the recipient (strict_mailbox_ownership). Command environments are
// filtered; commands get no descriptors but their standard input, output
// and error.
//
// # Configuration
//
// Parameters (main.cf), with their defaults:
//
//	alias_maps                  hash:/etc/aliases   alias tables, in order
//	allow_mail_to_commands      alias, forward      where |command may appear
//	allow_mail_to_files         alias, forward      where /file may appear
//	biff                        yes                 notify comsat (127.0.0.1:512/udp) of mbox deliveries
//	cleanup_service_name        cleanup             where forwarded copies go
//	command_execution_directory                     working directory of commands ($user, $home, … expanded)
//	command_expansion_filter    1234567890!@%-_=+:,./a-zA-Z   allowed characters in command environments
//	command_time_limit          1000s               time limit of a command (local_time_limit overrides)
//	default_privs               nobody              rights of commands and files without a user
//	deliver_lock_attempts       20                  tries for a mailbox lock
//	deliver_lock_delay          1s                  pause between tries
//	duplicate_filter_limit      1000                destinations remembered per request
//	execution_directory_expansion_filter            allowed characters in command_execution_directory
//	expand_owner_alias          no                  owner-NAME's value as the list's sender
//	export_environment          TZ MAIL_CONFIG LANG variables commands get (NAME=value sets one)
//	fallback_transport                              transport for names without an account
//	fallback_transport_maps                         the same, per name
//	forward_expansion_filter    1234567890!@%-_=+:,./a-zA-Z   allowed characters in forward_path expansions
//	forward_path                $home/.forward${recipient_delimiter}${extension}, $home/.forward
//	frozen_delivered_to         yes                 Delivered-To: the recipient as the delivery began
//	header_size_limit           102400              header bytes searched for Delivered-To
//	home_mailbox                                    mailbox in the home (Maildir/ for a Maildir)
//	local_command_shell                             shell for commands (e.g. /usr/sbin/smrsh -c)
//	luser_relay                                     destination for unknown names
//	mail_name                   Postern             in the forwarded copies' Received: header
//	mail_spool_directory        /var/mail           mbox directory (ending in / for Maildirs)
//	mailbox_command                                 command that delivers to mailboxes (no $name expansion)
//	mailbox_command_maps                            the same, per user
//	mailbox_delivery_lock       fcntl, dotlock      mbox locks: fcntl, flock, dotlock
//	mailbox_size_limit          51200000            largest mbox or Maildir file (0: none)
//	mailbox_transport                               transport for every mailbox delivery
//	mailbox_transport_maps                          the same, per user
//	max_idle                    100s                how long a qmgr connection may idle
//	myhostname                  (system name)       in the forwarded copies' Received: header
//	myorigin                    $myhostname         domain of bare names in lists
//	owner_request_special       yes                 owner-NAME aliases and x-request names
//	postern_stop_timeout        30s                 how long a stop waits for deliveries
//	prepend_delivered_header    command, file, forward   deliveries that get Delivered-To
//	recipient_delimiter                             address extension delimiters (e.g. +)
//	require_home_directory      no                  defer while a user's home is missing
//	soft_bounce                 no                  defer instead of bouncing
//	stale_lock_time             500s                age of an abandoned dot-lock
//	strict_mailbox_ownership    yes                 defer delivery to an mbox of another owner
//
// Also the address resolution parameters of internal/resolve
// (mydestination, inet_interfaces, proxy_interfaces, transport_maps, …),
// which decide whether a list member is this agent's; and queue_directory,
// hash_queue_names, hash_queue_depth. local_recipient_maps is smtpd's
// business: the agent itself accepts any name it can deliver.
//
// # Files
//
//	/etc/aliases, /etc/aliases.db   alias database (postalias, newaliases)
//	~/.forward                      per-user forwarding
//	/var/mail/USER                  mbox mailboxes
//	$queue_directory/private/local  the service socket
//
// # Differences from Postfix
//
// A recipient whose expansion both delivers and fails is answered as one
// outcome (delayed, else failed); a failure of a command or file of a
// list with an owner- alias is reported to the message's sender, not to
// the owner. Unmatched address extensions are not propagated into alias
// and .forward expansions (propagate_unmatched_extensions). .forward and
// :include: files over 1 MB are not read. The Maildir temporary name
// carries a counter (SEC.PpidQn.HOST), as one helper writes many files,
// and new/ is fsynced after the rename. sticky_owner_alias,
// reset_owner_alias and deliver-time canonical rewriting are not
// implemented.
package local
