// Package mailbox writes messages into mailboxes: Unix mbox files and
// Maildir directories, for the local and virtual delivery agents.
//
// # Basics
//
// The message is first put in the form its destination wants with Copy
// (in the delivery agent): a From_ line ("From alice@example.com  Sun Nov
// 22 11:07:19 2026", two spaces), Return-Path, X-Original-To and
// Delivered-To headers, ">From " quoting and a closing blank line for
// mbox; only the headers for Maildir; any end of line and dot-stuffing
// for pipe(8) commands. The bytes are then written by a privexec helper
// running with the mailbox owner's rights, through the operations this
// package registers: "mbox" (DeliverMbox) and "maildir" (DeliverMaildir).
//
// An mbox append opens the file without following symbolic links,
// refuses a file with several hard links, one of another owner
// (strict_mailbox_ownership) or one that is not a regular file, takes the
// locks mailbox_delivery_lock asks for (a dot-lock FILE.lock, then fcntl
// and/or flock, retried deliver_lock_attempts times deliver_lock_delay
// apart; a dot-lock older than stale_lock_time is removed), appends, and
// fsyncs. A failure truncates the file back to its size before the
// append. A /file destination may also be a device such as /dev/null; an
// executable file is refused.
//
// A Maildir delivery writes tmp/SECONDS.PpidQcount.HOST, fsyncs it, renames
// it to new/SECONDS.VdevIinoMusec.HOST (device and inode in hexadecimal,
// the name Postfix gives) and fsyncs new/, so the message is durable when
// the delivery reports success. Missing tmp/, new/ and cur/ directories
// are created with mode 0700.
//
// Sizes: SizeLimit (mailbox_size_limit, virtual_mailbox_limit) bounds an
// mbox file's size after the append and a Maildir file's size; going past
// it fails with 5.2.2, as Postfix's file size limit does.
//
// # Failure semantics
//
// A failure is a dsn.Status: a full file system (4.3.0), a busy lock or a
// stale NFS handle (4.2.0) are temporary; a full mailbox (5.2.2) and other
// file errors (5.2.0) are permanent; a mailbox of another owner is 4.2.0.
// The Status text is the file system's reason; the agent adds its own
// words before it.
//
// A spool directory that users cannot write (root-owned /var/mail) needs
// root for two steps, done by the agent itself before the helper runs:
// PrepareMbox creates a missing mailbox owned by its user, and
// Locking.DotlockFile takes the dot-lock there.
package mailbox
