// Package config reads Postern's configuration: main.cf, master.cf, and
// the one registry of every parameter Postern knows.
//
// # The registry
//
// Each parameter is declared once, in a params_*.go file by topic, with its
// kind (string, bool, int, time, size, list), its default and a one-line
// description. Params returns them all; postconf -d prints them. A default
// may refer to other parameters ("$myhostname ESMTP $mail_name"); a few are
// computed from the machine: myhostname (the kernel's host name, with
// ".localdomain" added when it has no dot), mydomain ($myhostname without
// its first label), mynetworks (from mynetworks_style and the interface
// addresses), config_directory (the directory loaded) and mail_version.
// Defaults are Postfix 3.7's at compatibility_level 3.7, with Postern's own
// names and paths (mail_owner postern, queue_directory /var/spool/postern,
// syslog_name postern, enable_long_queue_ids yes). The LMTP client's lmtp_*
// parameters are made from the smtp_* ones. Per-transport forms
// (relay_destination_concurrency_limit …) are not registered; Unused
// accepts them for each master.cf service.
//
// # main.cf
//
// Parse and Load read main.cf exactly as Postfix does: "name = value"
// lines, whitespace around "=" and at the end ignored, lines starting with
// "#" ignored, a line starting with whitespace continuing the one before,
// and the last assignment winning. Values are expanded lazily, when asked
// for, with Postfix's $name, ${name}, $(name), ${name?value},
// ${name:value}, ${name?{v1}:{v2}}, ${{a} == {b} ? {x} : {y}} and $$
// forms (see expand.go); an undefined name expands to nothing. Load also
// expands every value the file sets, so a syntax error or a reference loop
// is one error naming the file and line:
//
//	/etc/postern/main.cf, line 3: myorigin = "${foo": unterminated "${": missing "}" in "${foo"
//
// A few parameters (IsRaw: forward_path, mailbox_command,
// default_rbl_reply, …) are returned as written, for the program that uses
// them to expand with names of its own through ExpandWith.
//
// Config stops at a program's entry: a main.go reads what it needs through
// a Reader, which keeps the first error ("bad numerical configuration:
// smtpd_recipient_limit = abc"), and passes plain values on.
//
// # master.cf
//
// ParseMaster and LoadMaster read the service table: eight columns, "-"
// for a default, continuation lines, -o name=value and -o { name = value }
// overrides, and { braced arguments } with spaces. With no master.cf the
// built-in DefaultMasterCF is used. Errors name the file and line:
//
//	/etc/postern/master.cf: line 12: field "command": missing
//
// # Unused settings and edits
//
// Unused and UnusedIn list main.cf settings nothing uses, for postconf's
// "unused parameter" warnings: a name is used when it is registered, when
// a value refers to it, when it names a restriction class, or when it is
// SERVICE_suffix for a master.cf service and default_suffix is registered.
// ApplyChanges and EditMain change main.cf the way postconf -e, -X and -#
// do, keeping everything else byte for byte and replacing the file
// atomically.
//
// # Limits
//
// Files over MaxFileSize are refused. An expansion stops with an error past
// 100 nested references, 4 MiB of text or 100,000 steps (for all of
// main.cf when it is loaded). No input makes
// this package panic; the parsers are fuzzed (fuzz_test.go).
package config
