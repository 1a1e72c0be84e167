// Package qmqpd is Postern's QMQP server: it takes messages from
// programs that speak the Quick Mail Queueing Protocol (ezmlm and other
// mailing list managers, qmail-qmqpc) and hands them to cleanup.
//
// # Synopsis
//
//	628       inet  n  -  n  -  -  qmqpd
//
// # Description
//
// A client connects, sends one request and gets one reply. The request is
// a netstring ("len:payload,") holding netstrings: the message (lines end
// in LF), the envelope sender, then each recipient. The reply is one
// netstring whose text starts with K (the message is queued: "KOk: queued
// as QID"), Z (temporary failure, try again) or D (permanent failure).
//
// Only clients in qmqpd_authorized_clients are served; anyone else gets
// "DError: host[addr] is not authorized to use this service". A request
// without recipients gets "DError: no recipients specified"; a broken
// request "Dnetstring format error while receiving …" or "Dnetstring
// length exceeds storage limit while receiving …". Every error reply is
// followed by a pause of qmqpd_error_delay.
//
// The message is read whole (at most message_size_limit bytes) because
// cleanup takes the envelope first and QMQP sends it last; then it goes
// to cleanup over public/cleanup (or private/cleanup) with a Received:
// header "… with QMQP id QID" ("for <rcpt>" when there is one
// recipient). Only cleanup's success
// gives the K reply. Log lines: "connect from host[addr]", "QID:
// client=host[addr]", "QID: host[addr]: Error: …" for refused messages,
// "QID: host[addr]: lost connection while receiving …", "disconnect from
// host[addr]".
//
// # Security
//
// qmqpd runs as mail_owner. What a client sends is bounded: the message
// by message_size_limit, the sender and each recipient by
// line_length_limit, the number of recipients by a fixed 50,000, and the
// whole request by qmqpd_timeout. Unauthorized clients are answered
// before anything is read.
//
// # Configuration
//
//	qmqpd_authorized_clients   clients allowed to send (a network list; empty: nobody)
//	qmqpd_timeout              time limit for reading the request and sending the reply
//	qmqpd_error_delay          pause after an error reply
//	message_size_limit         largest message
//	line_length_limit          longest sender or recipient
//	soft_bounce                turn D replies into Z
//	smtpd_peername_lookup      Postern: "no" skips the client host name lookup
//	content_filter             this service's content filter, handed to cleanup
//	                           (empty turns cleanup's own off)
//	myhostname, mail_name      the Received: header
//	queue_directory            where public/cleanup is
//	cleanup_service_name       the cleanup socket's name
//	postern_stop_timeout       how long a graceful stop waits for a request under way
//
// # Files
//
//	queue_directory/public/cleanup   where messages go (or private/cleanup)
package qmqpd
