// Package virtual is Postern's virtual delivery agent, the virtual daemon:
// mail for virtual_mailbox_domains goes to mailboxes under one directory,
// owned by uids and gids that need not be accounts of the machine.
//
// # Synopsis
//
//	virtual unix - n n - - virtual        (master.cf)
//
// # Description
//
// qmgr hands the agent delivery requests (proto's deliver protocol on
// private/virtual); the agent delivers each recipient to its mailbox,
// logs it and answers one status per recipient:
//
//	QID: to=<bob@virt.test>, relay=virtual, delay=0.08,
//	    delays=0.01/0.02/0/0.05, dsn=2.0.0, status=sent (delivered to maildir)
//
// The recipient (in lower case) is looked up in virtual_mailbox_maps,
// virtual_uid_maps and virtual_gid_maps in virtual(5)'s order:
// user+ext@domain, user@domain, then the @domain catch-all. The mailbox
// value is a path relative to virtual_mailbox_base: ending in '/' it is a
// Maildir, else an mbox file. A uid or gid table is usually one number for
// everyone, "static:5000".
//
//   - Not in virtual_mailbox_maps: bounce, `unknown user: "bob@virt.test"`
//     (5.1.1).
//   - Already named in a Delivered-To header: bounce, "mail forwarding
//     loop for bob@virt.test" (5.4.6).
//   - No uid or gid, a uid below virtual_minimum_uid, gid 0, a relative
//     virtual_mailbox_base, or a mailbox path that climbs out of the base
//     (".."): the mail is deferred with a reason that says what is wrong
//     ("recipient bob@virt.test: bad uid 5 in static:5 (below
//     virtual_minimum_uid = 100)"), so that nothing is lost while the
//     administrator fixes the tables. A table that cannot be read defers.
//
// A Maildir file gets Return-Path: <SENDER>, X-Original-To: RECIPIENT (as
// received) and Delivered-To: RECIPIENT before the message, which is
// otherwise written byte for byte; it is written in tmp/, fsynced, renamed
// into new/ as SEC.VdevIinoMusec.HOST and new/ is fsynced before success
// is reported. Missing tmp/, new/ and cur/ directories (and the Maildir
// itself) are created with mode 0700. An mbox gets a From_ line, the same
// headers, ">From " quoting and a closing blank line; it is locked as
// virtual_mailbox_lock says (fcntl and a FILE.lock dot-lock by default),
// appended to, fsynced, and truncated back when anything fails.
// virtual_mailbox_limit bounds a Maildir file and an mbox (5.2.2 when
// passed). Reasons are Postfix's: "delivered to maildir", "delivered to
// mailbox", "maildir delivery failed: …", "cannot update mailbox … for
// user …. …".
//
// sendmail -bv requests are answered without delivering ("delivers to
// maildir"). soft_bounce = yes turns bounces into deferrals.
//
// # Security
//
// The agent runs as root (master.cf unpriv column n) and writes every
// mailbox from a helper process started with the mailbox's uid and gid
// (internal/privexec); its own process never changes identity. Helpers are
// kept a few seconds per uid and gid so that a busy domain does not pay a
// fork and exec per message. The directories under virtual_mailbox_base
// must be writable by the mapped uid; the agent creates nothing as root.
// virtual_minimum_uid keeps mail from being written as a system account.
//
// # Configuration
//
//	virtual_mailbox_base                      directory mailbox paths are relative to (absolute)
//	virtual_mailbox_maps                      tables of mailbox paths by recipient
//	virtual_uid_maps                          tables of mailbox owner uids (static:N)
//	virtual_gid_maps                          tables of mailbox group ids (static:N)
//	virtual_minimum_uid     100               smallest uid mail is written as
//	virtual_mailbox_limit   51200000          largest mailbox or Maildir file (0: none)
//	virtual_mailbox_lock    fcntl, dotlock    mbox locks: fcntl, flock, dotlock
//	deliver_lock_attempts   20                tries for a mailbox lock
//	deliver_lock_delay      1s                pause between tries
//	stale_lock_time         500s              age of an abandoned dot-lock
//	recipient_delimiter                       address extension delimiters
//	header_size_limit       102400            header bytes searched for Delivered-To
//	soft_bounce             no                defer instead of bouncing
//	command_time_limit      1000s             time limit of one mailbox write (virtual_time_limit overrides)
//	max_idle                100s              how long a qmgr connection may idle
//	postern_stop_timeout    30s               how long a stop waits for deliveries
//
// virtual_mailbox_domains (resolved by qmgr through internal/resolve)
// sends mail here; queue_directory, hash_queue_names and hash_queue_depth
// locate the queue files.
//
// # Files
//
//	$virtual_mailbox_base/…             the mailboxes
//	$queue_directory/private/virtual    the service socket
//
// # Differences from Postfix
//
// Mailbox paths containing ".." or starting with '/' are refused (the mail
// is deferred) instead of being joined to the base as they are; the
// Maildir temporary file name carries a counter, and new/ is fsynced after
// the rename.
package virtual
