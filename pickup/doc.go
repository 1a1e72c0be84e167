// Package pickup is Postern's pickup daemon: it moves local submissions
// from the maildrop queue to cleanup.
//
// # Synopsis
//
//	pickup    unix  n  -  n  60  1  pickup
//
// # Description
//
// sendmail hands a message to the set-group-ID postdrop, which writes it
// into maildrop/ as a complete queue file, whether or not the mail system
// runs. pickup finds such files three ways: fsnotify on maildrop/ (a file
// appears under its queue ID only once it is complete), wake-ups on
// public/pickup (postdrop sends one after each file; the proto Control
// "wakeup" request), and a scan at start, every minute and at master's
// wake-ups (the wakeup column). Wake-ups are hints; the scan is the
// truth.
//
// A scan hands the files to cleanup oldest first (queue IDs sort by
// creation time), four at a time, and scans again while that emptied
// files. For each file pickup opens a submission to cleanup
// (public/cleanup), logs
//
//	QID: uid=N from=<sender>
//
// with the new queue ID, the uid of the file's owner (postdrop writes as
// the submitting user, so it cannot lie about it) and the sender as
// submitted; then it sends its own header, as Postfix's pickup does,
//
//	Received: by $myhostname ($mail_name, from userid N)
//		id QID; date
//
// (and an empty line when the message starts with a blank, which would
// otherwise continue that header), then the message. The submission is a
// local one: cleanup completes bare names with @$myorigin, adds missing
// headers, and bounces to the sender what its checks refuse. sendmail -t,
// -bv and -v are passed on as cleanup flags; of the file's attributes
// only encoding, smtputf8, log_ident, rewrite_context, dsn_notify and
// verp_delimiters travel on (a user's file cannot claim a client name).
//
// pickup removes a maildrop file only after cleanup answered that the
// message is safe in the queue (or bounced). A temporary failure (cleanup
// down, a table failing, a full disk) leaves the file for the next scan,
// with a warning. A file that is not a readable queue file, or whose
// message cleanup refuses for good (no recipients, say), is moved to
// corrupt/ with a warning:
//
//	warning: maildrop/ID: <why>: moved to corrupt/ID
//
// # Security
//
// pickup runs as mail_owner and trusts nothing in maildrop/: everything
// in it was written by users. The queue file reader bounds every record;
// the uid comes from the file's owner; other attributes are filtered.
//
// # Configuration
//
//	queue_directory, hash_queue_names, hash_queue_depth
//	myhostname, mail_name    for the Received: header
//	content_filter           this service's content filter, handed to cleanup
//	                         (empty turns cleanup's own off)
//	cleanup_service_name     cleanup's socket (public/, else private/)
//	ipc_timeout              time limit of one submission
//	postern_stop_timeout     graceful stop
//
// # Files
//
//	$queue_directory/maildrop/        local submissions (mode 0730, group setgid_group)
//	$queue_directory/corrupt/         files pickup could not use
//	$queue_directory/public/pickup    wake-ups
//	$queue_directory/public/cleanup   where messages go
package pickup
