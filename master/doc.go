// Package master is Postern's resident process: it reads master.cf, opens
// every listener itself, starts one child process per service, restarts
// children that die, and reloads or stops the whole mail system on a
// signal. It is started by "postfix start" (or "postfix start-fg"), never
// by hand.
//
// # Synopsis
//
//	postern master [-c config_dir] [-f] [-s fd]
//
// # Description
//
// Before any child starts, master removes the files a cleanup was writing
// in incoming/ and hold/ when the system went down ("removed N unfinished
// queue files from incoming"): none of them was ever acknowledged.
//
// Each master.cf line names a service. Master binds its listener (a TCP
// address for inet, a Unix socket under private/ or public/ for unix) and
// starts the one Postern binary as "postern daemon COMMAND" with the
// service's -o overrides and arguments, handing it the listener through
// the descriptor map of internal/daemon. A Go daemon serves many clients
// at once; maxproc keeps its Postfix meaning for the administrator — the
// most clients the service serves at once (0: no limit, "-":
// default_process_limit) — and further clients wait in the kernel's
// backlog.
//
// Listeners live in master for the life of the service: a child that
// crashes is replaced while its clients queue in the backlog, and a reload
// starts new children beside the old ones, which stop accepting and finish
// their sessions, so no client is refused during a reload.
//
// A child that dies after it was serving is restarted after a short delay
// that doubles with each crash in a row (50 ms up to 10 s). A child that
// dies before it ever said it was ready has a broken startup: master logs
//
//	warning: process smtpd pid 1234 exit status 1
//	warning: smtpd: bad command startup -- throttling
//
// and waits service_throttle_time before trying again. At "postfix start"
// such a failure aborts the start with the child's last log line as the
// reason, unless the daemon is a delivery agent (local, virtual, smtp,
// lmtp, pipe, spawn, discard, error): then only that service is
// throttled, as in Postfix, and its mail waits in the queue, so that one
// bad transport (a pipe service with user=root, say) does not keep the
// whole mail system down after a reboot.
//
// Services whose commands Postfix has but Postern does its own way
// (trivial-rewrite, tlsmgr, scache, proxymap, postlogd, …) or lacks are
// skipped with one warning line each, so a stock Postfix master.cf starts.
// A pipe or spawn service whose program or user does not exist on this
// host is skipped the same way.
//
// The wakeup column makes master send the child a wake-up every so many
// seconds (pickup and qmgr scan on it).
//
// # Signals
//
// SIGHUP reloads main.cf and master.cf (a configuration that does not load
// is logged and ignored); SIGTERM stops gracefully (children get SIGTERM,
// then SIGKILL after postern_stop_timeout); SIGQUIT aborts (children are
// killed at once).
//
// # Security
//
// Started as root, master stays root to bind privileged ports and to start
// the delivery agents that run commands and write mailboxes as their
// users (unpriv column n: local, virtual, pipe, spawn). Every other child
// runs with mail_owner's user and group IDs (no supplementary groups); a
// chrooted one starts as root and drops to them itself (below).
// mail_owner must exist and must not be root. Started by an ordinary user,
// master and every child run as that user: the development and test mode,
// through the same code.
//
// The chroot column works as in Postfix: as root, a service with chroot
// y starts as root, opens its configuration, tables, certificates and
// whatever else lives outside the queue, then confines itself to
// queue_directory and drops to mail_owner before it serves anyone.
// local, virtual, pipe and spawn are never chrooted (they start commands
// and write mailboxes on the real file system): chroot y on them gets one
// warning and is ignored. Started by an ordinary user, master cannot
// chroot: one warning names the services that run unchrooted.
//
// Before starting chrooted services, at start and at every reload,
// master prepares the jail, as Postfix's Debian scripts do: it copies
// localtime, hosts, resolv.conf, nsswitch.conf, services and host.conf
// (those that exist) from /etc into $queue_directory/etc/ (root's, mode
// 0644; a copy whose original is gone is removed), and makes the queue
// directory's own path inside the jail lead to the jail's root, so the
// absolute queue paths a daemon computed before confining itself still
// work: for /var/spool/postern, the link
// /var/spool/postern/var/spool/postern -> ../.. (var/ and var/spool/ are
// root's, 0755). When something else stands there — a file, a directory,
// a link elsewhere, a directory of another user — master refuses to
// start and says what to move away; it never writes through a link.
//
// Tables are opened before the chroot and keep working inside it, but a
// table's file is out of reach there: a chrooted daemon cannot reload a
// rebuilt table in place. When one changes (postmap), the daemon logs
// "table … has changed -- restarting" and master starts a fresh process,
// which opens the new version, beside it; the old one finishes its
// sessions and stops, as on a reload. A table whose file was missing when
// a chrooted daemon started stays unavailable in it (lookups fail
// temporarily) until "postfix reload".
//
// Inside the jail there is no /proc, so a chrooted cleanup writes queue
// files the portable way (temporary name, rename) instead of as unnamed
// files. A chrooted daemon resolves host names with the jail's copies of
// hosts, resolv.conf and nsswitch.conf: names that only an NSS module
// outside the jail knows (mDNS, say) are not found.
//
// # Logging
//
// The mail log is maillog_file, master's standard error with -f (when
// maillog_file is not set), or syslog through /dev/log with facility mail.
// Master opens it and hands every child a descriptor of it: once a child
// is ready it writes its lines there itself, with the time and host in
// front (or as syslog datagrams), so that busy daemons do not wake master
// for every line. Until then, and for anything else a child prints (a
// crash trace), the child's standard error goes to master, which adds the
// time and host (and the child's name when a line lacks it) and remembers
// the last line to explain a failed start. A reload reopens maillog_file
// (after a rotation) and restarts the children, which get the new file.
//
// # The Go runtime
//
// The daemons a message passes through (smtpd, qmqpd, cleanup, qmgr, the
// delivery agents, bounce) start with GODEBUG=schedtrace=2147483647,
// unless import_environment brings a GODEBUG of the administrator's. It
// keeps the runtime's monitor thread from polling every 20µs after each
// idle moment, which cost a sixth of all CPU per message on virtual
// machines; master drops the one line the setting prints every 24 days.
// They also start with a timer slack of 1ms (inherited by all their
// threads), so that the monitor thread's short sleeps last a millisecond
// rather than 70µs; their timers may fire up to 1ms late, and the
// commands the delivery agents run for users get the kernel's 50µs back.
// POSTERN_TIMER_SLACK in master's environment (a Go duration, 0 for none)
// changes the value. The reasoning and the measurements are in runtime.go.
//
// # Configuration
//
//	queue_directory         where the queues, sockets and pid file live
//	mail_owner              the account unprivileged daemons run as
//	setgid_group            group of maildrop/ and public/
//	inet_interfaces         addresses inet services listen on when master.cf gives none
//	inet_protocols          ipv4, ipv6 or all
//	default_process_limit   maxproc when master.cf says "-"
//	service_throttle_time   pause after a bad command startup
//	postern_stop_timeout    grace for children on stop before SIGKILL
//	postern_start_timeout   how long start waits for every service to be ready
//	maillog_file            log file (empty: syslog, or stderr in the foreground)
//	maillog_file_prefixes   allowed prefixes for maillog_file
//	syslog_name             name in front of every log line
//	import_environment      environment passed to children
//	hash_queue_names, hash_queue_depth  queue directory hashing
//
// # Files
//
//	$config_directory/main.cf, $config_directory/master.cf
//	$queue_directory/pid/master.pid   pid file and lock
//	$queue_directory/private/, public/  service sockets
//	$queue_directory/etc/             copies of /etc files for chrooted daemons
//	$queue_directory/var/spool/postern  (for that queue_directory) the
//	                                  link to the jail's root
package master
