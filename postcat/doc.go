// Package postcat is the postcat command: it shows the contents of queue
// files in human-readable form.
//
// # Synopsis
//
//	postcat [-bdeho] [-c config_dir] file...
//	postcat [-bdeho] [-c config_dir] -q queue_id...
//
// # Description
//
// postcat prints each named queue file: its envelope records, its message
// content and the markers of its sections, modelled on Postfix's postcat:
//
//	*** ENVELOPE RECORDS deferred/8/4jXRDB400qz1SCHg ***
//	message_size:             296             245               1               0
//	message_arrival_time: Sun Nov 22 11:07:19 2026
//	create_time: Sun Nov 22 11:07:19 2026
//	sender: alice@mx.example.test
//	named_attribute: client_name=client.example.test
//	original_recipient: Bob@mx.example.test
//	recipient: bob@mx.example.test
//	*** MESSAGE CONTENTS deferred/8/4jXRDB400qz1SCHg ***
//	Subject: hello
//
//	Hello Bob.
//	*** HEADER EXTRACTED deferred/8/4jXRDB400qz1SCHg ***
//	*** MESSAGE FILE END deferred/8/4jXRDB400qz1SCHg ***
//
// The message_size record holds the content length, the content offset,
// the recipient count and the queue file flags. A recipient already
// delivered or bounced shows as done_recipient. Times are local.
// Recipients are stored after the content (see the queue package's file
// format) but are listed with the envelope, where Postfix administrators
// look for them; the HEADER EXTRACTED section is therefore empty.
// create_time is when the queue file was created, taken from its queue
// ID, and shown only when the file's name is one.
//
// Options:
//
//	-b  Show the message body: from the first line that is neither a
//	    header nor a continuation line (the empty line after the
//	    headers) to the end.
//	-c config_dir
//	    Read main.cf from config_dir instead of $MAIL_CONFIG or
//	    /etc/postern.
//	-d  Print each record's type, in decimal, before it.
//	-e  Show the envelope records and the section markers.
//	-h  Show the message header lines. (Help is --help.)
//	-o  Print the file offset of each record and content line.
//	-q  The arguments are queue IDs: look for each in the maildrop,
//	    incoming, active, deferred, hold and saved queues, and name it
//	    by its path under the queue directory.
//
// Without -b, -e or -h, postcat shows all three. As in Postfix, the
// section markers come with -e only, so -bh prints the bare message.
//
// A file that is truncated or malformed stops postcat with a message
// naming the file and the offset of the problem, for example
//
//	postcat: fatal: queue file /var/spool/postern/incoming/4jXRDB400qz1SCHg: truncated: no end record (offset 4391)
//
// and exit status 1. postcat exits 0 when every file was shown.
//
// Unlike Postfix, postcat does not read a queue file from standard input:
// the reader needs to seek. The -r, -s and -v options are not offered.
//
// # Security
//
// postcat only reads. Queue files are readable by the mail owner only, so
// -q normally needs the mail owner or root. Control characters in
// envelope records are printed as \xNN so that a message cannot drive the
// terminal; the message content is printed as it is stored.
//
// # Configuration
//
// With -q, postcat reads these main.cf parameters:
//
//	queue_directory   where the queue is (default /var/spool/postern)
//	hash_queue_names  queues split into hashed subdirectories (default deferred, defer)
//	hash_queue_depth  levels of hashed subdirectories (default 1)
//
// # Files
//
//	/etc/postern/main.cf   configuration
//	/var/spool/postern     the queue directory
package postcat
