// Package e2e holds end-to-end scenarios against the real binary: each
// test starts a Postern instance in a temporary directory (package
// internal/mtatest), talks to it the way an administrator or a mail
// client would — SMTP sessions, sendmail, postmap, postsuper, mailq,
// postfix reload, kill -9 — and checks what they would check: the
// mailbox, the Maildir, the SMTP replies, the mail log lines, the queue
// listing, the count at a remote SMTP sink.
//
// The scenarios are numbered in the spirit of chasquid's test/t-NN, one
// file each (t01_local_delivery_test.go, t02_…), in the order a Postfix
// administrator checks a new installation: local delivery, sendmail to a
// virtual Maildir, relaying with the log lines pflogsumm reads, unknown
// users, bounces, reload and crashes while mail flows, queue
// administration, mailq, and the development instance of "postern dev".
// reload_tables_test.go checks that lookup tables rebuilt or edited under
// a running server take effect within seconds, on sessions that stay
// open, with no daemon restarted.
//
// Run them with "go test ./e2e/" (the binaries are built once per run) or
// "make test" (which uses bin/). Some scenarios need root, to create the
// accounts mail is delivered to; they are skipped otherwise. The whole
// package takes well under a minute; "go test -short" skips it.
//
// This package has no code of its own: this file is its manual.
package e2e
