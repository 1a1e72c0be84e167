// Package daemon is the skeleton every Postern daemon runs in: it takes
// what master hands a child (the descriptor map, the environment, the
// arguments), builds the daemon's Env, tells master when the daemon is
// serving, delivers wake-ups, and turns SIGTERM into a graceful stop.
//
// # The descriptor map
//
// Master starts a child as "postern daemon COMMAND [-o name=value]… [args]"
// with these descriptors, defined here once for both sides:
//
//	0, 1   /dev/null
//	2      the log until the child is ready: it writes
//	       "syslog_name/command[pid]: text" lines, master stamps and stores
//	       them (anything else written there, a panic trace say, is
//	       logged as the child's too)
//	3      the status socket (Unix stream): the child writes "ready\n" once
//	       it serves, and "restart\n" when it wants a fresh process to
//	       take over (master starts one, then stops this one as on a
//	       reload); master writes "wakeup\n" for the wakeup column
//	4…     the service's listeners, in order (POSTERN_LISTENERS of them)
//	next   when POSTERN_LOG is set, the mail log itself: maillog_file or
//	       master's standard error ("file:HOST": lines go with the time
//	       and HOST in front) or the /dev/log socket ("syslog"). Once the
//	       child serves (Env.Ready) it writes its lines there itself, so
//	       that master is not on the path of every line; before that, and
//	       for anything the Go runtime prints, descriptor 2 is used
//
// and this environment: MAIL_CONFIG (config directory), POSTERN_BUILD (the
// build ID of master's binary; a child of another build refuses to run),
// POSTERN_SERVICE ("name/type"), POSTERN_LISTENERS (count) and
// POSTERN_MAXPROC (most clients served at once; 0 = no limit). A chrooted
// service also gets POSTERN_CHROOT (the queue directory) and, when
// unprivileged, POSTERN_DROP (mail_owner's "uid:gid"): it starts as root
// and confines itself in Env.Ready (see confine.go).
package daemon

// Descriptor numbers and environment names of the master–child contract.
const (
	FDStatus        = 3
	FDFirstListener = 4

	EnvBuild     = "POSTERN_BUILD"
	EnvService   = "POSTERN_SERVICE"
	EnvListeners = "POSTERN_LISTENERS"
	EnvMaxProc   = "POSTERN_MAXPROC"
	EnvConfig    = "MAIL_CONFIG"
	EnvLog       = "POSTERN_LOG"
)

// Status socket messages.
const (
	MsgReady   = "ready"
	MsgWakeup  = "wakeup"
	MsgRestart = "restart"
)
