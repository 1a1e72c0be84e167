// Package discard is Postern's discard(8) and error(8): the two delivery
// agents that deliver nothing. master.cf runs them as
//
//	discard   unix  -  -  n  -  -  discard
//	error     unix  -  -  n  -  -  error
//	retry     unix  -  -  n  -  -  error
//
// # Synopsis
//
//	postern daemon discard
//	postern daemon error
//
// Only master starts them; qmgr talks to them over private/discard,
// private/error and private/retry.
//
// # Description
//
// Both agents speak the delivery protocol of every Postern agent
// (internal/proto, "deliver"): qmgr sends a message's recipients for one
// transport and next hop, the agent answers one result per recipient and
// logs each one. They never open the queue file and never change it; qmgr
// marks recipients done and hands failures to bounce.
//
// discard reports every recipient delivered (2.0.0) and logs
//
//	QID: to=<rcpt>, relay=none, delay=0.01, delays=0/0/0/0, dsn=2.0.0, status=sent (TEXT)
//
// where TEXT is the next hop of the transport entry ("discard:silently
// dropped" gives "silently dropped"; a plain "discard:" gives the
// recipient's domain, as resolve fills it in), or "discarded" when there
// is none. It is what transport_maps entries such as "spam.example
// discard:" and header_checks DISCARD lead to.
//
// error fails every recipient with the text of its transport entry:
// "error:5.1.1 no such user" bounces with 5.1.1 and "no such user"; a text
// without a status code gets 5.0.0; a 4.x.y code is made 5.x.y, since the
// error service always bounces. The mail log says status=bounced (text).
// Run as the "retry" service (retry unix … error), the same daemon defers
// instead: "retry:4.3.2 try later" gives 4.3.2 and status=deferred, a
// missing code 4.0.0, a 5.x.y code 4.x.y. virtual_alias_domains without a
// matching virtual_alias_maps entry and "default_transport = error" setups
// end here too.
//
// For sendmail -bv (verify) requests the same outcomes are logged as
// status=deliverable or status=undeliverable.
//
// # Security
//
// The agents run as mail_owner, read no file and run no command; they trust
// qmgr (private/ sockets are reachable only by the mail owner) but still
// bound every request by the protocol's size limits.
//
// # Configuration
//
//	postern_stop_timeout (30s)
//	    how long a graceful stop waits for requests under way
//	syslog_name (postern)
//	    the prefix of the agents' log lines
//
// # Files
//
//	queue_directory/private/discard, private/error, private/retry
//	    the sockets master listens on for the agents
package discard
