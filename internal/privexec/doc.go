// Package privexec runs a step of a delivery as another user: appending to
// a mailbox, writing a Maildir file, reading a ~/.forward file, or running
// a command. It is how local, virtual, pipe and spawn, which run as root
// when master does, act with the rights of a recipient without ever
// changing the user ID of their own running process (DESIGN.md §2).
//
// # Basics
//
// Two kinds of step exist.
//
// A command (|command in an alias, pipe's argv=, spawn's argv=) is executed
// directly by RunCommand, in a new process group, with the user's
// credentials (syscall.SysProcAttr.Credential), a chosen environment and
// working directory, the message on its standard input and its output
// captured up to a limit. A time limit kills the whole process group.
//
// Any other step is an operation ("op") written in Go: the mailbox writers
// of package mailbox register "mbox" and "maildir", this package registers
// "readfile". A Runner starts a helper process, "postern privexec" (the
// very binary the caller runs, /proc/self/exe, so that a helper is never
// of another version during an upgrade), with the user's credentials, and
// sends it requests over a Unix socket that is the helper's standard
// input, using internal/proto's framing:
//
//	parent → request   {"op": "maildir", "params": {…}, "deadline": …}
//	parent → content   the bytes the op consumes (the message), then end
//	helper → result    {"status": {"dsn": "2.0.0", "text": …}, "data": …}
//
// The helper runs the op registered under that name (Register; Main is its
// body) and answers. A fork and exec per delivery would dominate the cost
// of a Maildir delivery, so a Runner keeps a helper per credential alive
// for a few idle seconds (Runner.Idle) and feeds it further requests: it is
// still a process that has only that user's rights, from its first
// instruction to its last.
//
// When the caller is not root (development and tests) the same code runs:
// helpers and commands start as the caller, with no credential change.
//
// # Failure semantics
//
// An op's outcome is a dsn.Status in the Result: success, a temporary or a
// permanent failure, with text for the log and the bounce. An error from
// Runner.Do means the step could not be run or its helper died or timed
// out: treat it as temporary. A helper that fails or passes its deadline
// is killed with its process group; it is never reused after an error. A
// request is resent to a fresh helper only when an idle helper turned out
// to be gone before it read the request, so an op never runs twice for one
// call.
//
// # Security
//
// The helper's only input is the socket; its environment is reset (PATH,
// and TZ when set); its working directory is "/"; it gets the user's user
// ID, primary group ID and that group as its only supplementary group, as
// Postfix's delivery rights do. Root's rights are never handed to a helper
// unless the caller asks for user ID 0 explicitly.
package privexec
