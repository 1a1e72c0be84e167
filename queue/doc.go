// Package queue owns the mail queue on disk: the directory tree, queue
// IDs, the queue file format, durable creation of queue files, reading
// them back, and the per-message bounce, defer and trace logs.
//
// # Directories
//
// Under the queue directory (queue_directory) each queue is a directory:
// maildrop, incoming, active, deferred, hold and corrupt hold messages;
// bounce, defer and trace hold per-message logs named by queue ID; saved,
// flush, pid, private and public complete the tree. Queues named in
// hash_queue_names are spread over hash_queue_depth levels of
// subdirectories named by one upper-case hex digit: the digits of the
// ID's microseconds printed as five hex digits, so deferred/8/4jXRDB400qz1SCHg
// has microseconds 562475 = 0x8952B. MakeDirs creates the tree with
// Postfix's modes.
//
// # Queue IDs
//
// An ID is Postfix's long form: six base-52 digits of the creation
// second, four of its microseconds, 'z', and the file's inode in base 51
// (modulo 51^5), at most 16 characters. The alphabet,
// "0123456789BCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz", has no vowels
// and is in ASCII order, so IDs sort by creation time. Two live files
// never share an inode; a writer's rename never replaces an existing file,
// so a clash after reducing the inode fails loudly instead of losing mail.
// Postfix's short hexadecimal IDs are not used.
//
// # Writing
//
// A Writer creates a temporary file "tmp.PID.N" in the queue directory,
// takes its ID from the time and the inode, buffers up to 64 KiB, and on
// Commit writes the rest, fsyncs, renames the file to its ID with
// RENAME_NOREPLACE, and fsyncs the directory: one write for a message of
// up to 64 KiB, one fsync, one rename and one directory fsync. A crash
// before the rename leaves only a temporary file, which no scan reads; a
// crash after it leaves a complete, durable file. Until Commit returns nil
// the message must not be acknowledged.
//
// # Reading
//
// Open reads the envelope, never the content: a file of up to 16 KiB with
// one read, a larger one with two (its head and its tail), without asking
// for the file's size (the read that comes back short marks the end). A
// file opened read-only that fit one read is kept in memory, so that a
// delivery agent reads the message with no further system call. Queue
// files are used through plain descriptors, not os.File (fd.go): open,
// pread and close, nothing more.
//
// # Failure semantics
//
// Marking a recipient done (File.MarkDone) rewrites one byte in place
// without fsync: a mark lost in a crash means a second delivery, never
// none. Moves between queues are renames without fsync: after a crash the
// file is in one queue or the other and scans find it. A move never
// replaces a file of the same ID (renameat2 RENAME_NOREPLACE where the
// file system has it). A file that cannot
// be read gives an error wrapping ErrCorrupt naming the file and offset;
// the caller moves it to corrupt/.
//
// # File format
//
// A queue file is a sequence of records. A record is a type byte, the
// length of its data as a base-128 varint (low seven bits first, high bit
// set on every byte but the last), and the data. Readers accept
// non-minimal varints. In order:
//
//	C  size record, always first, fixed width: four decimal numbers,
//	   each right-aligned in 15 columns, separated by one blank:
//	   content length, content offset, recipient count, flags.
//	   Its length byte is 63, so the record is 65 bytes and the
//	   flags field is at offset 50: SetFlags rewrites it in place.
//	T  arrival time, "seconds microseconds" since the Unix epoch
//	F  sender full name (optional)
//	S  envelope sender; empty data is the null sender
//	A  named attribute "name=value" (any number, in order)
//	<  DSN RET, FULL or HDRS (optional)
//	i  DSN ENVID (optional)
//	W  delay warning time, "seconds" (optional)
//	M  the message content: headers and body with LF line ends, as one
//	   raw block, byte for byte. Its length is always written as a
//	   five-byte varint so that it can be filled in after the content
//	   has been streamed; its data starts at the content offset.
//	   Then, for each recipient:
//	O  original recipient (optional)
//	o  DSN ORCPT, "type;address" (optional)
//	n  DSN NOTIFY: NEVER, or a comma list of SUCCESS, DELAY, FAILURE
//	   (optional)
//	R  the recipient, still to deliver; or
//	D  the recipient, done: a reader marks R done by rewriting its type
//	   byte to D in place.
//	E  end of file, empty. A file without it, or with anything after
//	   it, is incomplete or corrupt.
//
// The O, o and n records belong to the R or D record that follows them.
// Recipients come after the content so that recipients added late (by
// header checks or sendmail -t) need no seek back. A reader finds the
// content and the recipients from the size record alone, reading the
// head and the tail of the file and never the content. Record types
// unknown to a reader are skipped, so that a later version may add some.
// Limits: 64 KiB per record, 1 MiB before the content, 64 MiB after it,
// 32 GiB of content.
//
// Postfix marks a complete queue file by its owner-execute bit; here the
// rename to the ID and the end record do that, and files keep mode 0600
// (0644 in maildrop, whose directory keeps others out, so that pickup
// can read what postdrop wrote as the submitting user).
//
// # Per-message logs
//
// bounce/ID, defer/ID and trace/ID (hashed like their queue names) hold
// one record per recipient outcome, appended with one write so that
// agents appending at once do not interleave. Each record is lines of
// "name=value" (recipient, original_recipient, offset, status, action,
// reason, remote_mta, diag_type, diag_text, time) ending with an empty
// line; backslash, newline and carriage return in values are written as
// \\, \n and \r. Bounce logs are fsynced; defer and trace logs are not.
//
// # Deferred messages
//
// The next try time of a deferred message is its file's modification
// time (SetNextTry, NextTry), as in Postfix: a scan learns it with a stat.
package queue
