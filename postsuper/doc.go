// Package postsuper is the postsuper command: queue maintenance for the
// superuser.
//
// # Synopsis
//
//	postsuper [-psSv] [-c config_dir] [-d queue_id] [-e queue_id] [-f queue_id]
//	          [-h queue_id] [-H queue_id] [-r queue_id] [queue...]
//
// # Description
//
// postsuper deletes, holds, releases, requeues and expires messages, and
// checks and repairs the queue's directory tree. Each of -d, -e, -f, -h,
// -H and -r takes a queue ID, "ALL" (upper case only: every message in
// the queues concerned) or "-" (queue IDs read from standard input, one
// per line), and may be given several times. The queue arguments
// (maildrop, incoming, active, deferred, hold, corrupt, and for -s and -p
// also defer, bounce and trace) narrow every operation to those queues.
// Without any option postsuper does -s and -p.
//
// -d deletes messages (default queues: maildrop, incoming, active,
// deferred, hold) with their bounce, defer and trace logs. "-d ALL corrupt"
// empties corrupt/.
//
// -h puts messages on hold (from incoming, active, deferred): held mail
// is neither delivered nor expired. Mail in maildrop has not been through
// cleanup yet and is never held.
//
// -H releases held messages into the deferred queue, due at once: the
// queue manager takes them at its next scan of the deferred queue
// (queue_run_delay), or at once after postqueue -f.
//
// -r requeues messages (from hold, incoming, active, deferred): each goes
// back through cleanup with its recipients still to be delivered, so that
// canonical and virtual mapping, header and body checks and content_filter
// apply again; it gets a new queue ID, and keeps its arrival time, sender,
// original recipients, DSN parameters and client attributes (including the
// rewriting context). Milters are not run again. postsuper resubmits the
// message to cleanup itself (private/cleanup) and removes the old copy
// only once cleanup has the new one on disk; during the copy the old file
// waits in hold/, where no delivery starts, so an interruption leaves it
// on hold, never lost. When the mail system is down, the copy is written
// into maildrop/ instead, for pickup to submit as local mail at the next
// start (Postfix's way).
//
// -e force-expires messages (from hold, incoming, active, deferred): at
// its next delivery attempt the queue manager returns the message to the
// sender with the last reason it was deferred, or "message is
// administratively expired", and logs status=force-expired. A deferred
// message is made due at once; a held one stays on hold until released.
// -f does the same and releases held messages.
//
// -s checks the structure: files go to the subdirectories
// hash_queue_names and hash_queue_depth call for (after those change),
// subdirectories no longer needed and anything that is neither a file nor
// a hashed subdirectory are removed, and files in the message queues whose
// names are not queue IDs are moved to corrupt/ with a warning. Run it
// with the mail system stopped. -S also renames messages whose queue ID
// does not match their file's inode number, as after restoring the queue
// from a backup, with their logs ("Renamed to match inode number: N
// messages" and a warning); operations on named IDs given with it are then
// refused, since the IDs may now name other messages.
//
// -p removes temporary files (tmp.*) more than a day old, left behind by
// a crash.
//
// -c config_dir reads main.cf from config_dir (an absolute path) instead
// of the default directory (also MAIL_CONFIG). -v reports every file
// renamed or removed.
//
// All output goes to standard error, as Postfix's does: for each named
// message "postsuper: ID: removed", "placed on hold", "released from
// hold", "requeued" or "expired", then a summary per operation asked for,
// "postsuper: Deleted: N messages" ("1 message"), "Requeued:", "Placed on
// hold:", "Released from hold:", "Force-expired:". Operations on ALL print
// only the summary. An ID that is not a queue ID gives "postsuper:
// warning: invalid mail queue id: ID"; an ID not found counts zero and is
// not an error. The exit status is 0 unless a fatal error occurred
// ("postsuper: fatal: …", exit status 1).
//
// As in Postfix, the same lines also go to the mail log, so that a
// deletion is on record beside the daemons' lines about the message:
// "postern/postsuper[PID]: ID: removed", "… Deleted: 1 message". The log
// is maillog_file when it is set (and lies under maillog_file_prefixes),
// opened for appending before privileges are dropped, else syslog through
// /dev/log; when neither can be opened, the lines go to standard error
// only.
//
// # Running while Postern runs
//
// Every operation is a rename or a removal of one file, which the daemons
// are written to expect: qmgr treats a message that vanished from active/
// as taken away, and a scan never sees half a file. The rules that follow:
//
//   - A message being delivered (in active/) that is deleted or put on
//     hold may still reach the recipients whose deliveries were already
//     under way; no new delivery of it starts. This is Postfix's
//     behaviour too.
//   - -h of an active message keeps what the deliveries under way did:
//     their recipients are marked done in the same file, now in hold/.
//   - -r of an active message may deliver twice to a recipient whose
//     delivery was under way; it never loses one.
//   - A message found in one queue and moved by a daemon before postsuper
//     acts is looked for once more.
//
// Queue IDs are never reused while a file has them (they carry the file's
// creation time in microseconds and its inode), so a named ID cannot come
// to mean another message, except after -S.
//
// # Security
//
// Only root and the mail owner may run postsuper ("postsuper: fatal: use
// of this command is reserved for the superuser"); in development mode,
// where Postern runs as one ordinary user, the owner of the queue
// directory counts as the mail owner. Run as root, postsuper becomes the
// mail owner (mail_owner, with setgid_group unused and no supplementary
// groups) before it touches the queue, as Postfix's does: the daemons
// work on the queue as that user, so what postsuper creates must be
// theirs, and a queue tampered with cannot lead root's hand elsewhere.
// Queue IDs from the command line or standard input are checked before
// they are used in a path; maildrop/, which users write into through
// postdrop, is never entered below its top level.
//
// # Configuration
//
//	queue_directory        where the queue is
//	hash_queue_names       queues split into hashed subdirectories
//	hash_queue_depth       levels of hashed subdirectories
//	mail_owner             the user postsuper becomes, and who may run it
//	setgid_group           checked to exist, as by the daemons
//	cleanup_service_name   the cleanup service -r resubmits to
//	pickup_service_name    pickup, woken after a requeue into maildrop
//	maillog_file           the mail log postsuper also writes to (empty: syslog)
//	maillog_file_prefixes  where maillog_file may be
//	syslog_name            the name in its lines (postern)
//
// # Files
//
//	$queue_directory/{maildrop,incoming,active,deferred,hold,corrupt}/  messages
//	$queue_directory/{bounce,defer,trace}/  per-message logs
//	$queue_directory/private/cleanup        where -r resubmits messages
package postsuper
