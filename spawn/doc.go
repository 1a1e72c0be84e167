// Package spawn is Postern's spawn daemon: an inetd-like service that runs
// a command for each connection, with the connection as the command's
// standard input, output and error. Its usual use is a policy server that
// smtpd asks through check_policy_service.
//
// # Synopsis
//
//	NAME unix - n n - MAXPROC spawn user=USER[:GROUP] argv=COMMAND ARGS…
//	NAME inet - n n - MAXPROC spawn user=USER[:GROUP] argv=COMMAND ARGS…
//
// (master.cf; argv= is last, everything after it is the command), for
// example
//
//	policy  unix  -  n  n  -  0  spawn  user=nobody argv=/usr/local/bin/policyd
//	smtpd_recipient_restrictions = …, check_policy_service unix:private/policy
//
// # Description
//
// Each connection to the service starts one process of the command, which
// talks to the client over its standard input and output (its standard
// error goes to the client too) and ends when it likes; the connection is
// closed when the command exits. MAXPROC (the master.cf process limit) is
// the most commands running at once: further clients wait in the socket's
// backlog until one ends. A command that runs longer than NAME_time_limit
// (else command_time_limit) is killed together with everything it
// started. A command that fails is logged, as Postfix does:
//
//	warning: command /usr/local/bin/policyd exit status 1
//	warning: command /usr/local/bin/policyd killed by signal 11
//	warning: /usr/local/bin/policyd: command time limit exceeded
//
// The environment is export_environment (NAME passes the daemon's value,
// NAME=value sets one) and PATH=/usr/bin:/bin; the working directory is
// queue_directory.
//
// # Security
//
// The command runs with USER's uid and gid (GROUP's when given). USER may
// not be root or mail_owner and the group may not be 0: the daemon refuses
// to start otherwise. The daemon runs as root (master.cf unpriv column n)
// only to start commands with those rights (internal/privexec); it never
// reads or writes the connection itself.
//
// # Configuration
//
//	NAME_time_limit        command_time_limit    time limit of one command
//	command_time_limit     1000s
//	export_environment     TZ MAIL_CONFIG LANG   variables the command gets
//	mail_owner             postern               the account user= may not be
//	queue_directory                              the working directory
//	postern_stop_timeout   30s                   how long a stop lets commands run
//
// # Files
//
//	$queue_directory/private/NAME   the service socket of a unix service
//
// # Differences from Postfix
//
// None known that an administrator would see; the command's descriptors
// are exactly its standard input, output and error.
package spawn
