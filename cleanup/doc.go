// Package cleanup is Postern's cleanup daemon: every message enters the
// queue through it. It completes and rewrites the message, applies the
// content checks, writes the queue file, and answers only once the file
// is on disk.
//
// # Synopsis
//
//	cleanup   unix  n  -  n  -  0  cleanup
//
// # Description
//
// smtpd, qmqpd, pickup (for sendmail), bounce and local (for forwarded
// mail) submit messages over public/cleanup with the cleanup protocol of
// internal/proto: an envelope, the content as it was received, the end
// of the content. One connection may carry any number of messages; one
// cleanup process serves every connection of its service (maxproc 0: no
// limit).
//
// At the envelope, cleanup creates the queue file in incoming/ (in hold/
// when the submitter asks for it) and answers with its queue ID at once,
// so that smtpd can put it in its Received: header. It rewrites the
// sender and the recipients before reading any content, so that a table
// that cannot be read is answered before the client sends its message.
//
// The content is read once. CRLF line ends become LF, a last line
// without a line end gets one, and everything else is kept byte for
// byte. The header is read header by header (folded lines together; the
// part of a header past header_size_limit is dropped); once the header
// is done and no body or MIME checks need the body, the rest is copied in
// bulk.
//
// Then the recipients that the content added (sendmail -t, BCC actions,
// blind copies) are added, and the file is committed: written, fsynced,
// renamed to its queue ID and the directory fsynced. Only then does
// cleanup answer, and only then may smtpd say "250". Last, cleanup wakes
// qmgr through public/qmgr without waiting (at most one wake-up under
// way; qmgr also scans on its own, so a lost one costs a scan interval).
// It logs "QID: message-id=<…>" for every message ("message-id=<>" when
// there is none).
//
// # Headers
//
// Mail from this machine (local submissions, and SMTP clients named by
// local_header_rewrite_clients) gets the headers it lacks, after its last
// header: Message-Id: <QID@$myhostname>, Date: (the arrival time, in
// Postfix's form), From: (the sender, "Full Name <sender>" with sendmail
// -F, NAME or the password file's name; MAILER-DAEMON for the null
// sender) and undisclosed_recipients_header when there is no To: or Cc:.
// When the message has Resent- headers, the missing Resent-Message-Id:,
// Resent-Date: and Resent-From: are added instead. Bare names in its
// sender and recipient headers (From:, Sender:, Reply-To:, To:, Cc:,
// Resent-*: …) are completed with @$myorigin; mail from other clients is
// completed with @$remote_header_rewrite_domain only when that is set
// (always_add_missing_headers adds the missing headers to all mail).
//
// Bcc:, Resent-Bcc:, Return-Path: and Content-Length: are removed from
// every message, as Postfix does (Delivered-To: is kept: local uses it to
// find mail loops). With sendmail -t the recipients come from To:, Cc:
// and Bcc: (from the Resent- forms when the message has any), and are
// added to those of the command line. A message with hopcount_limit
// Received: headers or more is refused: "554 5.4.0 Error: too many
// hops".
//
// Sender and recipient headers are rewritten the way the envelope is
// (canonical maps and masquerading, as canonical_classes,
// sender_canonical_classes, recipient_canonical_classes and
// masquerade_classes say). Only the addresses that change are replaced:
// display names, comments and folding stay as they were.
//
// pickup, not cleanup, writes the "Received: by $myhostname ($mail_name,
// from userid N) id QID; date" header of local submissions, as Postfix's
// pickup does.
//
// # Address rewriting
//
// The envelope sender goes through sender_canonical_maps, then
// canonical_maps, then masquerade_domains; each recipient through
// recipient_canonical_maps, canonical_maps, then virtual_alias_maps. A
// bare name is first completed with @$myorigin. Lookups follow
// canonical(5) and virtual(5): user@domain, then user (for a domain that
// is $myorigin, in $mydestination or an address of this machine), then
// @domain. A result "@otherdomain" keeps the user; a result without a
// domain gets @$myorigin; an extension (recipient_delimiter) the table did
// not match is kept when propagate_unmatched_extensions says so.
//
// virtual_alias_maps expansion is recursive: every address of the result
// is looked up again. An address that expands into itself (among others)
// stays and is not looked up again. A list longer than
// virtual_alias_expansion_limit or an address looked up more than
// virtual_alias_recursion_limit times (a loop) makes the message wait:
// "451 4.6.0 Alias expansion error", with a warning naming the address.
// The original recipient is kept with each result (unless
// enable_original_recipient = no), and duplicate recipients are dropped.
//
// masquerade_domains hides subdomains: with "example.com",
// user@host.example.com becomes user@example.com; "!sub.example.com"
// before it keeps that domain; local parts in masquerade_exceptions are
// never masqueraded.
//
// always_bcc, sender_bcc_maps (looked up with the sender) and
// recipient_bcc_maps (with each recipient) add blind copies to messages
// that have recipients.
//
// A table that fails makes the message wait ("451 4.3.0"), with the
// warning "… map lookup problem -- message not accepted, try again
// later"; it is never taken for "not found".
//
// # Content checks
//
// header_checks sees each header of the message, mime_header_checks the
// MIME headers (Content-*, MIME-Version) of the message and the headers
// of its MIME parts, nested_header_checks the headers of attached
// messages, body_checks the body lines (in pieces of line_length_limit
// bytes, the first body_checks_size_limit bytes of each part; never the
// part headers). A header is looked up whole, with its folded lines
// joined by newlines. The tables are regexp: or pcre: (or any table
// type); a result is an action and its text (header_checks(5)):
//
//	REJECT [text]     refuse the message ("550 5.7.1 text"; a text may
//	                  start with its own 4.x.x or 5.x.x code)
//	WARN, INFO text   log and go on
//	HOLD [text]       put the message on hold
//	DISCARD [text]    accept the message and throw it away
//	REDIRECT addr     send the message to addr instead of its recipients
//	BCC addr          add addr as a blind copy
//	FILTER t:dest     send the message to content filter t:dest (the
//	                  queue file attribute "filter"; from header checks
//	                  only, see below)
//	PREPEND text      put text before this header or line
//	REPLACE text      put text in place of this header or line
//	IGNORE            remove this header or line
//	STRIP [text]      remove it and log
//	PASS [text]       no more checks for this message
//	DUNNO, OK         nothing
//
// Every action but IGNORE and DUNNO logs a line such as
//
//	QID: reject: header Subject: x from host[addr]; from=<s> to=<r> proto=ESMTP helo=<h>: 5.7.1 text
//
// ("from local" for local submissions). After REJECT, DISCARD, REDIRECT
// and PASS no further checks are made. A message from smtpd that is
// refused gets the status as the SMTP reply and is not queued. A local
// submission (sendmail, through pickup) that is refused is bounced
// instead: cleanup queues it in hold/, logs each recipient "to=<…>,
// relay=none, …, dsn=5.7.1, status=bounced (text)", asks the bounce
// service for a non-delivery report (the envelope says RET=HDRS when the
// header was refused, so that only the headers go back), then removes it.
// If bounce cannot be reached the submitter is told to try again; pickup
// keeps the maildrop file.
//
// # Content filter
//
// A message may get a content filter, "transport:nexthop" in the queue
// file attribute "filter": qmgr then sends it, for all its recipients,
// to that transport instead of theirs (an after-queue filter, Postfix's
// FILTER_README), and the filter re-injects it. As in Postfix the last
// valid choice wins:
//
//	content_filter     of the service that received the message: the
//	                   submitter's attribute "content_filter" when it
//	                   states one (empty for none: the "-o
//	                   content_filter=" of a re-injection service), else
//	                   cleanup's own parameter (main.cf, or cleanup's
//	                   master.cf -o)
//	FILTER t:nexthop   of smtpd's access tables (the submitter's
//	                   "filter" attribute)
//	FILTER t:nexthop   of header_checks
//
// Bounces and mail forwarded by local get no content_filter (a FILTER
// action still applies to them). A message requeued with postsuper -r
// drops the filter it had and gets one anew. A value without a ":" is
// logged ("ignoring invalid content filter") and ignored.
//
// The service that takes filtered mail back must not have it filtered
// again: smtpd, qmqpd and pickup hand their own content_filter to
// cleanup with every message, so the Postfix way works:
//
//	127.0.0.1:10026 inet n - n - - smtpd -o content_filter=
//
// # Holding
//
// A local submission waits in hold/ until it is accepted, then moves to
// incoming/; hold/ is where bounce can read a refused one and qmgr never
// looks. A HOLD action on an SMTP message commits the file in incoming/
// and moves it to hold/ at once (qmgr could in theory take it in
// between; the queue writer cannot yet change its target directory).
//
// # Failures
//
// A client that goes away before the end of the content: the file is
// removed and nothing is queued. A full or read-only queue file system,
// an exceeded quota or a permission problem: "452 4.3.1 Insufficient
// system storage" and a warning that names the cause; any other write
// error: "451 4.3.0 Error: queue file write error". A message over
// message_size_limit (a local submission may have 4 KiB more, for pickup's
// Received: header): "552 5.3.4 Error: message file too big". Content is
// always read to its end, so that the connection stays usable for the
// next message. No input makes cleanup panic; if a bug did, only that
// connection would be closed.
//
// Differences from Postfix: header addresses are replaced in place
// instead of the whole header being reformatted; FILTER from body_checks
// is logged and ignored (the envelope is written when the header ends);
// the content of a refused local submission is kept whole, not truncated
// to the headers, when the refusal came from body_checks (bounce_size_limit
// still bounds what goes back).
//
// # Security
//
// cleanup runs as mail_owner and trusts nothing in the content. Every
// size from outside has a limit: header_size_limit per header,
// header_address_token_limit addresses per header, mime_nesting_limit
// MIME levels, message_size_limit for the message, and the protocol's own
// frame limits. Table results are addresses, never commands.
//
// # Configuration
//
// Read at start (tables reload themselves when their files change):
//
//	queue_directory, hash_queue_names, hash_queue_depth
//	myhostname, myorigin          Message-Id domain; completion of bare names
//	header_size_limit (102400)    bytes kept of one header
//	hopcount_limit (50)           Received: headers before "too many hops"
//	line_length_limit (2048)      body_checks see lines in pieces this long
//	message_size_limit            largest message
//	body_checks_size_limit (51200) bytes of each body part body_checks see
//	header_address_token_limit    addresses parsed in one header
//	mime_nesting_limit (100)      MIME boundaries followed
//	disable_mime_input_processing treat the body as text only
//	header_checks, mime_header_checks, nested_header_checks, body_checks
//	canonical_maps, sender_canonical_maps, recipient_canonical_maps
//	canonical_classes, sender_canonical_classes, recipient_canonical_classes
//	masquerade_domains, masquerade_exceptions, masquerade_classes
//	virtual_alias_maps, virtual_alias_expansion_limit, virtual_alias_recursion_limit
//	propagate_unmatched_extensions, recipient_delimiter
//	always_bcc, sender_bcc_maps, recipient_bcc_maps
//	enable_original_recipient     keep the original recipient
//	duplicate_filter_limit        recipients remembered to drop duplicates
//	content_filter (empty)        transport:nexthop for mail whose submitter
//	                              states no content filter of its own
//	delay_warning_time            written into the queue file (W record)
//	undisclosed_recipients_header header added without To:/Cc: (empty: none)
//	always_add_missing_headers    add missing headers to all mail
//	local_header_rewrite_clients  SMTP clients whose mail is treated as local
//	                              (permit_inet_interfaces, permit_mynetworks,
//	                              permit_sasl_authenticated, static:all,
//	                              check_address_map TABLE)
//	mynetworks                    for permit_mynetworks
//	remote_header_rewrite_domain  completion of bare names in other mail
//	queue_service_name            qmgr's socket, for the wake-up
//	bounce_service_name           bounce's socket, for refused local mail
//	ipc_timeout                   time limit of one read or write on a connection
//	postern_stop_timeout          graceful stop
//
// and, through internal/resolve, what decides which domains are local
// (mydestination, inet_interfaces, proxy_interfaces, …).
//
// # Files
//
//	$queue_directory/incoming/    new messages
//	$queue_directory/hold/        held messages; local submissions until accepted
//	$queue_directory/public/cleanup   the service socket
//	$queue_directory/public/qmgr  wake-ups for qmgr
//	$queue_directory/private/bounce   non-delivery reports for refused local mail
package cleanup
