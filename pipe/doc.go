// Package pipe is Postern's pipe delivery agent, the pipe daemon: it
// delivers mail by running a command, such as maildrop, dovecot-lda, a
// mailing list manager or a UUCP gateway.
//
// # Synopsis
//
//	NAME unix - n n - - pipe flags=FLAGS user=USER[:GROUP] [size=N]
//	    [eol=STRING] [directory=DIR] [null_sender=ADDR] argv=COMMAND ARGS…
//
// (master.cf; argv= is last, everything after it is the command.)
// Transport names route mail to the service: transport_maps entries like
// "lists.example.com maillist:", or mailbox_transport.
//
// # Description
//
// For each request from qmgr the agent runs the command once, as USER,
// with the message on its standard input, and gives every recipient of
// the request the command's outcome:
//
//	QID: to=<x@piped.test>, relay=mypipe, delay=0.05,
//	    delays=0.02/0/0/0.02, dsn=2.0.0, status=sent (delivered via mypipe service)
//
// Arguments may hold macros: $name, ${name} or $(name); ${name?text}
// gives text when the value is not empty, ${name:text} when it is; $$ is
// a '$' (write $$1 for a shell's $1). Macros of the message:
//
//	${sender}           the envelope sender (null_sender= for the null sender,
//	                    MAILER-DAEMON by default)
//	${nexthop}          the next hop (the domain, or what transport_maps says)
//	${size}             the message size
//	${queue_id}         the queue ID
//	${client_address} ${client_helo} ${client_hostname} ${client_port}
//	${client_protocol} ${sasl_method} ${sasl_sender} ${sasl_username}
//
// and of each recipient (an argument that uses one is repeated once per
// recipient, so "-- ${recipient}" becomes "-- a@x b@y"):
//
//	${recipient}           the address
//	${original_recipient}  the address as received
//	${mailbox}             its local part
//	${user}                the local part without the extension
//	${extension}           the extension (recipient_delimiter)
//	${domain}              its domain
//
// Flags:
//
//	B  append a blank line to the message
//	D  prepend Delivered-To: RECIPIENT, and bounce a recipient a
//	   Delivered-To header already names ("mail forwarding loop for x")
//	F  prepend a From_ line: "From SENDER  Sun Nov 22 11:07:19 2026"
//	O  prepend X-Original-To: RECIPIENT (as received)
//	R  prepend Return-Path: <SENDER>
//	X  the command delivers finally (DSN "delivered", not "relayed")
//	h  lower-case ${domain} and ${nexthop}
//	q  quote local parts in ${sender}, ${recipient}, ${original_recipient}
//	u  lower-case the local parts of the recipient macros
//	.  put a '.' before lines that start with '.'
//	>  put a '>' before lines that start with "From "
//
// D and O name one recipient: such a service needs
// NAME_destination_recipient_limit = 1 (a request with more is deferred
// with a warning). eol= ends every line ("\n" by default; C escapes such as
// \r\n). size= bounces larger messages ("message too large", 5.2.3).
//
// The command's exit status follows sysexits.h: 0 delivered, 75
// (EX_TEMPFAIL) and 71 deferred, 67 (EX_NOUSER) "user unknown" (5.1.1),
// other codes bounce with their meaning ("can't create user output
// file") and the command's output added (". Command output: …"); an
// output that starts with an enhanced status code ("4.2.2 over quota")
// gives that status instead. A command killed by a signal is deferred; one
// that runs past NAME_time_limit (else command_time_limit) is killed with
// everything it started and the mail bounces ("Command time limit
// exceeded"). A command that cannot be started bounces, as Postfix's
// failed exec does; a directory= that cannot be entered defers.
//
// The environment is export_environment (NAME passes the agent's value,
// NAME=value sets one) and PATH=/usr/bin:/bin; the working directory is
// directory=, else queue_directory.
//
// # Security
//
// The command runs with USER's uid and gid (GROUP's when given), never as
// root, never as mail_owner and never with group 0: the agent refuses to
// start otherwise. The agent itself runs as root (master.cf unpriv column
// n) only to start the command with those rights (internal/privexec); the
// command gets no descriptors but its standard input, output and error.
// Messages are passed as they are: a command that feeds them to a shell
// must quote them.
//
// # Configuration
//
//	NAME_time_limit         command_time_limit   time limit of the command
//	command_time_limit      1000s
//	export_environment      TZ MAIL_CONFIG LANG  variables the command gets
//	recipient_delimiter                          for ${user} and ${extension}
//	mail_owner              postern              the account user= may not be
//	header_size_limit       102400               header bytes searched for Delivered-To
//	soft_bounce             no                   defer instead of bouncing
//	max_idle                100s                 how long a qmgr connection may idle
//	postern_stop_timeout    30s                  how long a stop waits for commands
//
// and queue_directory, hash_queue_names, hash_queue_depth.
//
// # Files
//
//	$queue_directory/private/NAME   the service socket
//
// # Differences from Postfix
//
// chroot= is refused; an unknown macro or attribute stops the service at
// start instead of at the first delivery.
package pipe
