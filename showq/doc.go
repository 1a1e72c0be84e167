// Package showq is the queue listing service: the daemon behind
// postqueue -p, postqueue -j, mailq and sendmail -bp.
//
// # Synopsis
//
//	showq unix n - n - - showq        (master.cf)
//
// # Description
//
// showq answers listing requests on public/showq. Each request (a
// proto.ShowqRequest, optionally naming the queues to list) is answered
// with one proto.ShowqItem per message, as package mailq reads it — queue
// name, queue ID, arrival time, size, forced-expiry flag, sender and the
// recipients still to be delivered with their delay reasons from the defer
// logs — and a final item marked Done. A connection may carry any number of
// requests.
//
// The listing is streamed while the queue directories are walked: showq
// never holds more than one message in memory, so a queue of any size is
// listed in constant memory. Formatting is postqueue's job; showq only
// reads.
//
// A file that disappears during the walk (delivered meanwhile) is left
// out; one that cannot be read is left out and logged as a warning. When
// a queue cannot be walked at all the listing ends with an error item,
// which postqueue reports.
//
// On "postfix stop" a listing under way is finished, within
// postern_stop_timeout; idle connections are closed at once.
//
// # Security
//
// showq runs as mail_owner and only reads the queue. Its socket is in
// public/, mode 0666 inside a directory of mode 0710 owned by mail_owner
// and setgid_group, so only root, the mail owner and programs running
// with setgid_group (the set-group-ID postqueue) reach it. postqueue, not
// showq, decides who may see the queue (authorized_mailq_users): showq
// serves every client that can connect. Nothing a client sends is used as
// a path: queue names are checked against the list of message queues.
//
// # Configuration
//
//	queue_directory          where the queues are
//	hash_queue_names         queues split into hashed subdirectories
//	hash_queue_depth         levels of hashed subdirectories
//	empty_address_recipient  how the null sender is shown (MAILER-DAEMON)
//	ipc_timeout              bound on each write to a client and on an idle client
//	postern_stop_timeout     how long a listing under way may finish at stop
//
// # Files
//
//	$queue_directory/public/showq                 the service socket
//	$queue_directory/{maildrop,incoming,active,deferred,hold}/   the queues listed
//	$queue_directory/defer/                        delay reasons of messages tried before
package showq
