// Package qmgr is Postern's queue manager, qmgr(8): it brings new and
// deferred mail into the active queue, decides where each recipient goes,
// hands the mail to the delivery agents a few destinations at a time, and
// acts on what they report: done, returned to the sender, or tried again
// later.
//
// # Synopsis
//
//	postern daemon qmgr [-v]
//
// master runs one qmgr (master.cf: "qmgr unix n - n 300 1 qmgr"). Its
// socket, public/qmgr, takes wake-ups from cleanup and flush requests from
// postqueue, sendmail -q and smtpd's ETRN.
//
// # Description
//
// qmgr never touches the network and never reads message content. It reads
// a queue file's envelope, resolves each recipient (internal/resolve: the
// address class, transport_maps, relayhost), and sends delivery requests
// over private/TRANSPORT to the agent of each transport (smtp, relay,
// local, virtual, lmtp, pipe, error, discard, …). An agent answers one
// status per recipient; qmgr then records it.
//
// Queues. incoming/ holds new mail from cleanup; active/ the mail qmgr is
// working on (at most qmgr_message_active_limit messages); deferred/ mail
// waiting for another try, its next try time kept in the file's
// modification time; hold/ mail an administrator parked (never scheduled);
// corrupt/ files that could not be read. A wake-up from cleanup or master
// makes qmgr scan incoming/ and take everything there; every
// queue_run_delay it scans deferred/ for files whose time has come. Wake-ups
// are only hints: a lost one delays mail by one scan, never loses it.
//
// Entering the active queue, a message is logged as
//
//	QID: from=<sender>, size=N, nrcpt=M (queue active)
//
// Scheduling. Recipients are grouped by transport and destination (the
// next hop; or, for a transport that takes one recipient per delivery such
// as local, the recipient itself), and sent in batches of at most
// TRANSPORT_destination_recipient_limit. Each destination has a
// concurrency window: it starts at initial_destination_concurrency, grows
// with every delivery that reaches the destination
// (TRANSPORT_destination_concurrency_positive_feedback) up to
// TRANSPORT_destination_concurrency_limit, and shrinks when a delivery
// finds the destination dead — no server answered, or every one refused
// the connection (TRANSPORT_destination_concurrency_negative_feedback).
// When a destination's failures add up to
// TRANSPORT_destination_concurrency_failed_cohort_limit windows' worth, it
// is suspended for minimal_backoff_time: its mail is deferred at once,
// without a try, with "delivery temporarily suspended: <last reason>". The
// agent's master.cf process limit bounds the deliveries at once by one
// transport. Transports, and destinations within a transport, take turns,
// so a slow or dead destination holds at most its own window and the mail
// to every other destination keeps flowing. An agent that cannot be
// reached at all makes its transport unavailable for transport_retry_time
// ("mail transport unavailable"); mail for a transport in defer_transports
// waits ("deferred transport") until a flush.
//
// Content filters. A message with a content filter — the queue file
// attribute "filter", "transport:nexthop", which cleanup writes from
// content_filter or from a FILTER action of smtpd's access tables or of
// header_checks — goes, all its recipients, to that transport instead of
// theirs: the address resolver is not asked, and the recipients go as
// they are. A filter without a next hop ("scan:") uses
// default_filter_nexthop, or when that is empty each recipient's domain
// (the mail is then grouped by domain, as for any transport). The agent
// (typically smtp or pipe, under a master.cf name of its own) hands the
// mail to the filter and logs the delivery as usual (relay= the filter);
// the filter injects the mail again, into a service that does not filter
// it, and that copy is a new message. Everything else is as for other
// transports: windows, limits, defer_transports; a filter transport that
// is not in master.cf defers the mail with "mail transport unavailable".
// A filter whose transport is not a service name (empty, or with a "/")
// defers the mail with "4.3.5 mail system configuration error" and a
// warning. sendmail -bv mail is never filtered: it shows where the mail
// would go.
//
// Outcomes. A recipient the agent delivered is marked done in the queue
// file — only then, since the agent answers only once the mail is safe at
// its destination. A recipient that failed is written to the message's
// bounce log (through the bounce service) and then marked done; if the
// log cannot be written the recipient stays to be tried again, so that no
// failure goes unreported. A delayed recipient is written to the defer
// log, which is what mailq shows. soft_bounce = yes turns failures into
// delays. With NOTIFY=SUCCESS (or sendmail -v) deliveries also go to the
// trace log. sendmail -bv messages are only verified: every outcome goes
// to the trace log.
//
// When every recipient has been tried, the message leaves the active
// queue: failed recipients get their non-delivery report at once (even
// while others wait); if all are done, a success or verification report is
// sent when one was asked for and the file is removed ("QID: removed");
// otherwise a delay warning is sent if delay_warning_time has passed (once
// per message), and the file moves to deferred. Its next try is after as
// long as it has already waited — its age — within minimal_backoff_time
// and maximal_backoff_time, so the wait doubles from try to try.
//
// Expiry. A message still deferred after maximal_queue_lifetime
// (bounce_queue_lifetime for mail from the null sender) is returned to the
// sender: each recipient left is bounced with the reason of its last
// deferral, keeping its 4.x.x status, and qmgr logs
//
//	QID: from=<sender>, status=expired, returned to sender
//
// A message that postsuper -e or -f expired is returned the same way at
// its next turn, without another try, with status=force-expired.
//
// Flush. postqueue -f (sendmail -q) makes every deferred message due now,
// lifts every destination suspension and transport unavailability, and
// lets the flushed messages through defer_transports once. postqueue -s
// SITE and ETRN do it for the messages with a recipient at SITE, when SITE
// is in fast_flush_domains ("459 <SITE>: service unavailable" otherwise);
// postqueue -i ID for one message. The answer is how many messages were
// made due.
//
// # Recovery
//
// At start qmgr moves whatever is in active/ back to incoming/ and
// schedules it again. The active queue is qmgr's working set, not a state
// anyone else understands: after a crash (of qmgr, an agent, or the
// machine) a message there may have been delivered to some recipients
// and not others. Every recipient already marked done is skipped; one that
// an agent delivered but that was not yet marked done is delivered again.
// That is the trade Postfix makes too: marks are written without fsync
// because a lost mark costs a duplicate, and a message is never given up
// on because of a crash — at worst it is delivered twice, never zero
// times. The per-message defer log is dropped when a message re-enters
// the active queue, so that it always holds the reasons of the latest try.
//
// A graceful stop (SIGTERM from master) stops scans and new deliveries,
// waits up to postern_stop_timeout for the deliveries under way so that
// their outcomes are recorded, and leaves the rest in active/ for the next
// start. One qmgr at a time works on active/: it holds an exclusive flock
// on the directory, and a qmgr started while another still runs (a reload
// starts the new one beside the old) waits for that one to exit before it
// moves anything back to incoming/.
//
// # Security
//
// qmgr runs as mail_owner and is not exposed to the network. The files it
// reads are written by cleanup, which runs as the same user; a file that
// cannot be parsed is moved to corrupt/, never trusted. public/qmgr is
// reachable by the setgid_group: anyone there can only ask for a wake-up
// or a flush, and every request has a size limit and a deadline.
//
// # Configuration
//
// Read at start (postfix reload restarts qmgr). Times take the units s, m,
// h, d, w.
//
//	queue_directory (/var/spool/postern)
//	    where the queues are
//	hash_queue_names (deferred, defer), hash_queue_depth (1)
//	    queues spread over subdirectories
//	qmgr_message_active_limit (20000)
//	    most messages in the active queue
//	queue_run_delay (300s)
//	    how often deferred/ is scanned
//	minimal_backoff_time (300s), maximal_backoff_time (4000s)
//	    bounds of the wait before a deferred message is tried again; the
//	    minimum is also how long a dead destination is suspended
//	maximal_queue_lifetime (5d), bounce_queue_lifetime (5d)
//	    how long mail may stay deferred before it is returned (for mail
//	    from the null sender: dropped, through the bounce service)
//	delay_warning_time (0h, off)
//	    when the sender is warned of a delay; cleanup writes the warning
//	    time into each message, qmgr sends the warning once it passes
//	soft_bounce (no)
//	    defer instead of bouncing (for testing a configuration)
//	transport_retry_time (60s)
//	    how long a transport whose agent cannot be reached is left alone
//	defer_transports (empty)
//	    transports whose mail waits for a flush
//	initial_destination_concurrency (5)
//	default_destination_concurrency_limit (20), TRANSPORT_destination_concurrency_limit
//	    local_destination_concurrency_limit is 2
//	default_destination_recipient_limit (50), TRANSPORT_destination_recipient_limit
//	    local_destination_recipient_limit is 1
//	default_destination_concurrency_failed_cohort_limit (1)
//	default_destination_concurrency_positive_feedback (1)
//	default_destination_concurrency_negative_feedback (1)
//	    a number, a fraction "1/4", or "1/concurrency" (a window's worth of
//	    deliveries changes the window by one) or "1/sqrt_concurrency";
//	    each also in a TRANSPORT_ form
//	default_process_limit (100)
//	    deliveries at once by a transport whose master.cf maxproc is "-"
//	default_filter_nexthop (empty)
//	    next hop of a content filter that names none (empty: the
//	    recipient's domain)
//	fast_flush_domains ($relay_domains)
//	    sites that postqueue -s and ETRN may flush
//	parent_domain_matches_subdomains
//	    whether fast_flush_domains (and relay_domains, transport_maps)
//	    entries match subdomains
//	bounce_service_name (bounce), defer_service_name (defer), trace_service_name (trace)
//	    the services that keep the per-message logs and send reports
//	daemon_timeout (18000s)
//	    longest wait for an agent's answer
//	qmgr_ipc_timeout (60s)
//	    time limit for connecting to an agent and for talking to bounce
//	postern_stop_timeout (30s)
//	    how long a graceful stop waits for deliveries under way
//
// Address resolution (internal/resolve) reads myhostname, mydomain,
// myorigin, mydestination, inet_interfaces, proxy_interfaces,
// virtual_alias_domains, virtual_mailbox_domains, relay_domains,
// local_transport, virtual_transport, relay_transport, default_transport,
// transport_maps, relayhost, recipient_delimiter, swap_bangpath and
// allow_percent_hack.
//
// # Files
//
//	queue_directory/incoming, active, deferred, hold, corrupt
//	    the message queues
//	queue_directory/bounce, defer, trace
//	    per-message logs, kept by the bounce service
//	queue_directory/public/qmgr
//	    wake-ups and flush requests
//	queue_directory/private/TRANSPORT
//	    the delivery agents
//	config_directory/main.cf, master.cf
//	    parameters; master.cf names the transports and their process limits
package qmgr
