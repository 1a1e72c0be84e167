// Package postqueue is the postqueue command: the queue listing and the
// delivery requests that any user may make.
//
// # Synopsis
//
//	postqueue [-v] [-c config_dir] -p
//	postqueue [-v] [-c config_dir] -j
//	postqueue [-v] [-c config_dir] -f
//	postqueue [-v] [-c config_dir] -i queue_id
//	postqueue [-v] [-c config_dir] -s site
//	mailq                                    (the same as postqueue -p)
//
// # Description
//
// -p lists the mail queue in Postfix's mailq format: one entry per
// message, with the queue ID ("*" after it for a message being delivered,
// "!" for one on hold, "#" for one force-expired), the size, the arrival
// time and the sender, then the recipients still to be delivered, each
// group headed by the reason of its last failure in parentheses. The
// listing ends with "-- N Kbytes in M Requests." or is "Mail queue is
// empty". The format is described exactly in package mailq.
//
// -j lists the queue as JSON: one object per message and line, with the
// members queue_name, queue_id, arrival_time, message_size,
// forced_expire, sender and recipients (each with address and, when
// known, delay_reason). Readers should ignore members they do not know.
//
// The listing comes from the showq service (public/showq), so that no
// user needs to read queue files. When the mail system is down, root and
// the mail owner get a warning, "Mail system is down -- accessing queue
// directly", and the listing read from the queue directory; anyone else
// gets "Queue report unavailable - mail system is down" and exit status
// 69.
//
// -f asks the queue manager to try all deferred mail now, and pickup to
// look at maildrop. -s site does the same for the mail to one destination,
// which must be in fast_flush_domains ("Flush service is not configured
// for destination" otherwise); a numeric site is written in brackets,
// [192.0.2.1]. -i queue_id asks for one message to be tried now. When the
// queue manager cannot be reached: "Cannot flush mail queue - mail system
// is down", exit status 69.
//
// -c config_dir reads main.cf from config_dir instead of the default
// directory (also MAIL_CONFIG). -v logs what postqueue does on standard
// error.
//
// Exit status: 0 on success; 64 for a usage error or a bad site or ID; 69
// when the mail system is down; 74 when the listing cannot be written; 75
// for a temporary failure (a table that cannot be read, showq failing
// during a listing); 77 when authorized_mailq_users or
// authorized_flush_users refuse the user ("User NAME(UID) is not allowed
// to view the mail queue"); 1 for other fatal errors. Messages go to
// standard error as "postqueue: fatal: …" or "postqueue: warning: …".
//
// # Security
//
// postqueue is installed set-group-ID setgid_group (postdrop), which gives
// it access to the sockets in public/ and nothing else: it reads no queue
// file unless run by root or the mail owner. It is its own small binary,
// with no SMTP or daemon code linked in.
//
// Run by anyone but root, it clears its environment before doing
// anything else and afterwards restores only what import_environment
// names (a TZ naming a file is dropped). Running set-group-ID, it accepts
// a configuration directory from -c or MAIL_CONFIG only when it is the
// default one or is listed in alternate_config_directories or
// multi_instance_directories of the default main.cf ("unauthorized
// configuration directory name" otherwise).
//
// Root, the mail owner and (in development mode, where everything runs
// as one user) the owner of the queue directory pass the access lists
// and may read the queue directly.
//
// # Configuration
//
//	queue_directory                   where the queue and the public sockets are
//	hash_queue_names, hash_queue_depth  the queue's hashed subdirectories (direct listing)
//	showq_service_name                the listing service (showq)
//	queue_service_name                the queue manager, for flushes (qmgr)
//	pickup_service_name               the maildrop service, woken by -f (pickup)
//	authorized_mailq_users            who may list the queue (static:anyone)
//	authorized_flush_users            who may flush it (static:anyone)
//	fast_flush_domains                destinations -s accepts ($relay_domains)
//	parent_domain_matches_subdomains  whether those match their subdomains
//	mail_owner                        may read the queue directly
//	empty_address_recipient           how the null sender is shown (MAILER-DAEMON)
//	import_environment                what survives of the caller's environment
//	alternate_config_directories, multi_instance_directories
//	                                  configuration directories a set-group-ID postqueue accepts
//	maillog_file, maillog_file_prefixes, syslog_name
//	                                  where warnings and fatal errors are logged too (else syslog)
//
// The access lists are match lists of login names, tables
// (static:anyone matches everyone) and !negations.
//
// # Files
//
//	/etc/postern/main.cf                  configuration (the default directory)
//	$queue_directory/public/showq         the listing service
//	$queue_directory/public/qmgr          the queue manager's request socket
//	$queue_directory/public/pickup        pickup's wake-up socket
package postqueue
