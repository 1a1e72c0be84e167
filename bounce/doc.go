// Package bounce is Postern's bounce daemon: it keeps the per-message
// delivery logs and turns them into delivery status notifications —
// non-delivery reports, delay warnings, success notices and the reports
// of sendmail -v and -bv — which it sends back through cleanup.
//
// # Synopsis
//
//	bounce unix  -  -  n  -  0  bounce
//	defer  unix  -  -  n  -  0  bounce
//	trace  unix  -  -  n  -  0  bounce
//
// The daemon is started by master(8) on the bounce, defer and trace
// services of master.cf; it is not run by hand.
//
// # Description
//
// Clients (qmgr, cleanup and the delivery agents) speak one protocol on
// all three services (internal/proto: BounceRequest), with two requests:
//
//	append  add recipient outcomes to the log bounce/ID (failed),
//	        defer/ID (delayed, the reasons mailq shows) or trace/ID
//	        (for success notices and -v/-bv reports). The answer comes
//	        only after the write; the bounce log is also fsynced, since
//	        losing it would lose a non-delivery report.
//	notify  compose the report a log calls for, submit it to cleanup,
//	        log it, and remove the bounce or trace log it came from. The
//	        defer log stays: mailq shows its reasons until the message is
//	        tried again.
//
// A report that cannot be queued now (cleanup is down, the disk is full)
// is answered with a temporary status; the client keeps the message and
// asks again later, so a report is sent at least once, and after a crash
// at the wrong moment possibly twice. When cleanup refuses a report for
// good (a 5xx answer), asking again would not help: bounce logs a warning
// and gives that report up. The queue file is only read (the message may
// be in any queue; bounce looks where the client says, then everywhere).
// A message that is in no queue any more (postsuper -d) gets no report:
// there is no sender left to tell; bounce logs a warning.
//
// # Reports
//
// Every report is a MIME multipart/report (RFC 3464) sent from the null
// sender, or from double_bounce_sender for the postmaster's copies:
//
//   - a header: "Received: by $myhostname ($mail_name) id NEWQUEUEID;
//     DATE" and Date: first, as on all mail Postfix's daemons post, then
//     From: Mail Delivery System <MAILER-DAEMON@$myhostname>, Subject:,
//     To:, Auto-Submitted: (auto-replied; auto-generated for postmaster
//     copies), MIME-Version:, Content-Type: multipart/report with the
//     boundary "QUEUEID.TIME/$myhostname", and Message-Id:
//     <NEWQUEUEID@$myhostname>;
//   - a text/plain part in UTF-8: a short explanation (not in postmaster
//     copies) and one "<recipient>: reason" paragraph per recipient
//     ("<r> (expanded from <o>): reason" after aliasing), wrapped at 79
//     columns with a four-space indent;
//   - a message/delivery-status part: Reporting-MTA, Original-Envelope-Id
//     (DSN ENVID), X-Postfix-Queue-ID, X-Postfix-Sender, Arrival-Date,
//     then per recipient Final-Recipient, Original-Recipient (the DSN
//     ORCPT, else "rfc822;" and the address as received), Action,
//     Status, Remote-MTA (only after an SMTP reply), Diagnostic-Code
//     ("smtp; reply" or "X-Postfix; reason") and, in delay warnings,
//     Will-Retry-Until;
//   - the original: message/rfc822 with a Return-Path: header first, byte
//     for byte, or only its header block as text/rfc822-headers. SMTPUTF8
//     mail gets the message/global-* types of RFC 6533.
//
// The field names keep Postfix's X-Postfix- prefix, which programs that
// read bounces look for. Control characters in reasons and addresses
// become spaces, so nothing from outside can add a header or a line.
//
// The reports:
//
//	Undelivered Mail Returned to Sender   (bounce/ID)
//	    To the sender, about the failed recipients whose DSN NOTIFY asks
//	    for FAILURE (or that gave no NOTIFY), with Action: failed (also
//	    for expired mail, which keeps its 4.X.X status). The whole
//	    original is returned unless the sender asked for headers only
//	    (RET=HDRS) or it is larger than bounce_size_limit.
//	Postmaster Copy: Undelivered Mail
//	    With notify_classes bounce, a copy about every failed recipient,
//	    with the original's headers, to bounce_notice_recipient.
//	Delayed Mail (still being retried)    (defer/ID)
//	    To the sender, about recipients not yet delivered whose NOTIFY
//	    asks for DELAY (or that gave none): how long the message has
//	    waited and until when it will be tried (arrival +
//	    maximal_queue_lifetime). Headers only.
//	Postmaster Warning: Delayed Mail
//	    With notify_classes delay, a copy to delay_notice_recipient.
//	Successful Mail Delivery Report       (trace/ID)
//	    To the sender, about recipients with NOTIFY=SUCCESS: Action
//	    delivered, relayed or expanded. Headers only.
//	Mail Delivery Status Report           (trace/ID)
//	    sendmail -v: what happened to every recipient; sendmail -bv:
//	    whether each is deliverable or undeliverable. Headers only.
//
// Mail is never sent to the null sender. When a message from the null
// sender fails (a bounce that could not be delivered), the report goes,
// with notify_classes 2bounce or bounce, to 2bounce_notice_recipient from
// double_bounce_sender; without those classes it is dropped and the drop
// logged. When mail from double_bounce_sender fails in turn, it is
// dropped with a warning: there is no one left to tell. Delay warnings
// and success notices about null-sender mail are not sent.
//
// Each report queued is logged, with Postfix's wording:
//
//	QID: sender non-delivery notification: NEWQID
//	QID: postmaster non-delivery notification: NEWQID
//	QID: sender delay notification: NEWQID
//	QID: postmaster delay notification: NEWQID
//	QID: sender delivery status notification: NEWQID
//
// # Differences from Postfix
//
// bounce_template_file is not supported: the texts are built in, in
// Postern's own words (a warning is logged when the parameter is set).
// Bounce writes Date: and Message-Id: itself rather than leaving them to
// cleanup. When the bounce log is missing (the report was already sent),
// no "report unavailable" notice is sent. VERP bounces are not
// implemented. The "resource", "software", "policy", "protocol" and
// "data" notify classes concern the programs that meet those problems
// (error_notice_recipient), not bounce.
//
// # Security
//
// Bounce runs as mail_owner and needs no privileges: it reads queue files,
// writes the log directories and talks to cleanup over its socket.
// Every request is validated (queue IDs, log and report names); sizes are
// bounded by the protocol (4 MiB per request), the log reader (64 MiB),
// bounce_size_limit for returned messages and 1 MiB for returned header
// blocks.
//
// # Configuration
//
// Changes to main.cf take effect when bounce is restarted (postfix reload).
//
//	queue_directory          where the queue and the log directories are
//	hash_queue_names         queues split into subdirectories (defer is, by default)
//	hash_queue_depth         levels of those subdirectories
//	cleanup_service_name     the cleanup service reports are submitted to (cleanup),
//	                         at private/NAME, or public/NAME as in Postfix's master.cf
//	myhostname               in MAILER-DAEMON@, Reporting-MTA, Received: and the boundary
//	mail_name                in the report's Received: header (Postern)
//	myorigin                 the domain given to bare notice recipients
//	notify_classes           bounce, 2bounce and delay are bounce's (resource, software)
//	bounce_notice_recipient  postmaster copies of bounces (postmaster)
//	2bounce_notice_recipient bounces of null-sender mail (postmaster)
//	delay_notice_recipient   postmaster copies of delay warnings (postmaster)
//	double_bounce_sender     sender of postmaster notices; its failures are dropped (double-bounce)
//	bounce_size_limit        larger originals are returned as headers only; 0: no limit (50000)
//	maximal_queue_lifetime   Will-Retry-Until of delay warnings (5d)
//	bounce_queue_lifetime    the same for null-sender mail (5d)
//	enable_threaded_bounces  add References: and In-Reply-To: with the original's Message-Id (no)
//	bounce_template_file     not supported; see above
//	ipc_timeout              bounds one request, and how long an idle client may wait (3600s)
//	postern_stop_timeout     how long a stop lets requests under way finish (30s)
//
// # Files
//
//	$queue_directory/bounce/ID   failed recipients of message ID
//	$queue_directory/defer/H/ID  delayed recipients (hashed by default)
//	$queue_directory/trace/ID    delivery records for -v, -bv and NOTIFY=SUCCESS
//	$queue_directory/private/cleanup  where reports are submitted
//	$queue_directory/public/cleanup   the same, when master.cf makes cleanup public
//
// The log format is the queue package's (see its documentation).
package bounce
