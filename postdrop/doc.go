// Package postdrop is Postern's mail posting agent: the set-group-ID
// program sendmail (and smtpd -S, for sendmail -bs) runs to put a message
// into the maildrop queue, where pickup finds it. It works whether or not
// the mail system is running.
//
// # Synopsis
//
//	postdrop [-rv] [-c config_dir]
//
// # Description
//
// postdrop reads one submission on its standard input, as frames of the
// cleanup protocol (internal/proto): the envelope (a CleanupOpen
// message), the content in data frames, and the end frame. It checks the
// envelope, writes a queue file in maildrop/ (queue.NewWriter: temporary
// name, fsync, rename to the queue ID, directory fsync), answers on its
// standard output with the maildrop queue ID (CleanupOpened) and, once the
// file is durable, the result (CleanupResult), wakes pickup through
// public/pickup (when the mail system is down the file simply waits) and
// exits 0.
//
// The file keeps the sender, full name, recipients (with DSN NOTIFY and
// ORCPT), DSN RET and ENVID, sendmail -bv and -v (queue file flags),
// sendmail -t (attribute extract_recipients=yes), the caller's real uid
// (attribute uid: never one from the input), and of the submission's
// attributes only encoding, smtputf8, log_ident, rewrite_context,
// dsn_notify and verp_delimiters. Client attributes that smtpd -S sends
// are dropped; other attributes are dropped with a warning.
//
// Input that ends before the end frame, a malformed envelope (control
// characters in an address, an unknown NOTIFY or RET value, more than
// 100000 recipients) or a message over message_size_limit leaves nothing
// behind. A signal (SIGINT, SIGTERM, SIGHUP, SIGQUIT) removes the
// unfinished file. Every failure is one line on standard error,
//
//	postdrop: fatal: uid=1000: message file too big
//
// and exit status 75 (EX_TEMPFAIL). -r (raw input, the only kind there
// is) and -v are accepted for compatibility.
//
// # Security
//
// postdrop is installed set-group-ID setgid_group (postfix
// set-permissions does it), which is what lets it write into maildrop/
// (mode 0730). It is its own small binary without SMTP or daemon code
// (internal/arch checks). It clears its environment before anything
// else. When it runs set-group-ID, a configuration directory other than
// the default, from -c or MAIL_CONFIG, is accepted only when the default
// main.cf lists it in alternate_config_directories or
// multi_instance_directories ("untrusted configuration directory name:
// DIR" otherwise). authorized_submit_users decides who may submit: user
// names, "!name" to refuse, static:anyone for everyone, or a table of
// names; the first item that matches decides ("User NAME(UID) is not
// allowed to submit mail"). Files are written as the caller, mode 0644,
// so that pickup, as mail_owner, can read them; maildrop/ itself keeps
// others out.
//
// # Configuration
//
//	queue_directory, hash_queue_names, hash_queue_depth
//	message_size_limit             largest message
//	authorized_submit_users        who may submit (static:anyone)
//	pickup_service_name            pickup's socket, for the wake-up
//	alternate_config_directories   other configuration directories allowed
//	multi_instance_directories     (read from the default main.cf)
//	maillog_file, maillog_file_prefixes, syslog_name   where fatal errors
//	                               are logged too (else syslog)
//
// # Files
//
//	$queue_directory/maildrop/        where the file goes
//	$queue_directory/public/pickup    the wake-up
package postdrop
