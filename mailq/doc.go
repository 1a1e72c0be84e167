// Package mailq is the queue listing: it reads the message queues into
// proto.QueueEntry values and prints them in Postfix's mailq text format
// or as postqueue -j's JSON lines.
//
// The showq daemon serves listings made by Scan to postqueue, which prints
// them with Text or JSON; postqueue also calls Scan itself when showq is
// down and the caller may read the queue (root or the mail owner). mailq
// and sendmail -bp are postqueue -p.
//
// # Scanning
//
// Scan walks maildrop, incoming, active, deferred and hold, in that order,
// each in the order its directory listing gives (as Postfix, it does not
// sort), and reads each message's envelope without its content. Only
// recipients still to be delivered are listed. For every message but a
// maildrop file it reads the defer log (defer/ID), as Postfix does, so a
// held message keeps its reasons: each recipient's delay reason is
// matched by the recipient's record offset, else by its address. Entries
// are handed over one at a time and never kept, so a listing of any size
// runs in constant memory.
//
// A file that vanishes during the scan (delivered meanwhile) is skipped
// silently; one that cannot be read (corrupt, wrong permissions) is
// skipped with a warning. A missing queue directory lists as empty.
//
// # Text format
//
// Postfix's long queue ID layout (Postern uses long IDs only):
//
//	----Queue ID----- --Size-- ---Arrival Time---- --Sender/Recipient------
//	4jXRDB400qz1SCHg       276 Sun Nov 22 11:09:30 alice@mx.example.test
//	(host 127.0.0.1[127.0.0.1] said: 450 4.2.0 Greylisted (in reply to RCPT TO command))
//	                                               tmp2@remote.test
//
//	-- 0 Kbytes in 1 Request.
//
// The ID is followed by "*" when the message is in the active queue, "!"
// when it is on hold, and "#" when it was force-expired. The arrival time
// is asctime(3) in the local time zone, cut to 19 characters; the null
// sender shows as MAILER-DAEMON (empty_address_recipient). A "(reason)"
// line, right-aligned in 78 columns when it fits, comes before the first
// recipient it applies to and again only when the reason changes; a
// recipient without a reason after one with a reason gets "(reason
// unavailable)". Entries are separated by a blank line; the listing ends
// with a blank line and "-- N Kbytes in M Requests." (N is the sum of the
// message sizes divided by 1024), or is "Mail queue is empty".
//
// # JSON format
//
// One object per message and line, with Postfix's member names and
// spacing:
//
//	{"queue_name": "deferred", "queue_id": "4jXRDB400qz1SCHg", "arrival_time": 1795345770, "message_size": 276, "forced_expire": false, "sender": "alice@mx.example.test", "recipients": [{"address": "tmp2@remote.test", "delay_reason": "…"}]}
//
// Strings are escaped as Postfix does: quote and backslash, control
// characters as \b \f \n \r \t or \u00XX; other text is left as it is
// (UTF-8), so that "<" stays "<". Bytes that are not valid UTF-8 become
// "?" in both formats.
package mailq
