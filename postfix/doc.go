// Package postfix is the control command of the Postern mail system,
// under the name administrators already type.
//
// # Synopsis
//
//	postfix [-c config_dir] command
//
// # Description
//
// Commands:
//
//	check            check main.cf and master.cf, create missing queue
//	                 directories with their owners and modes, print
//	                 warnings; exit 0 when nothing is wrong
//	start            check, then start master in the background; return 0
//	                 only once every listener is bound and every service
//	                 said it is ready, else print the reason and exit 1
//	start-fg         run master in the foreground, logging to standard
//	                 error (for containers and systemd Type=simple)
//	stop             stop gracefully: listeners close, sessions finish up to
//	                 postern_stop_timeout; return once every process is gone
//	abort            stop at once, killing every child
//	reload           re-read main.cf and master.cf (SIGHUP to master)
//	status           exit 0 and print master's pid when running, else 1
//	flush            try all deferred mail now (postqueue -f)
//	set-permissions  fix owners and modes of the queue and of postdrop/postqueue
//
// The configuration directory is -c, else $MAIL_CONFIG, else /etc/postern.
//
// # Security
//
// start, stop, abort, reload, check and set-permissions are for root (or,
// in development mode, the ordinary user who owns the whole instance).
//
// # Configuration
//
//	queue_directory        holds pid/master.pid, the master lock
//	mail_owner, setgid_group  owners of the queue directories
//	postern_stop_timeout   how long stop waits before killing children
//	command_directory      where postdrop and postqueue are, for set-permissions
//
// # Files
//
//	$queue_directory/pid/master.pid
package postfix
