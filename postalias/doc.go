// Package postalias is the postalias command, and newaliases: they build
// the alias tables local delivery reads, query them and edit them.
//
// # Synopsis
//
//	postalias [-Nfinoprsvw] [-c config_dir] [-d key] [-q key]
//	          [file_type:]file_name ...
//	newaliases [-v] [-c config_dir]
//
// # Description
//
// Without -q, -d or -s, postalias builds each named alias table from its
// source, an aliases(5) file: file_name is compiled into file_name.db, a
// bbolt file, whatever the type (hash, btree, lmdb, cdb or dbm). Without a
// file_type, default_database_type (hash) is used. Without any table
// name, postalias works on every table of alias_database that it can
// build (for -q and -s, on every table of alias_database). newaliases is
// postalias without arguments: it rebuilds every alias_database table.
//
// The source holds one alias per logical line:
//
//	name: value, value, ...
//
// Blank lines and lines starting with '#' are ignored; a line that starts
// with whitespace continues the previous one. The name ends at the first
// ':' outside double quotes; a name with spaces or special characters is
// written in quotes ("a b": …) and stored unquoted. Names are folded to
// lower case unless -f is given. The value is stored normalised: items
// separated by ", " ("alice," followed by "  bob" on a continuation line
// is stored as "alice, bob"). An item is an address, /file (append to the
// file), "|command args" (pipe to the command; quote it to keep spaces and
// commas) or :include:/path (more items from a file).
//
// A line without "name:" or without a value warns "postalias: warning:
// FILE, line N: need name:value pair"; a name with '@' or '%' warns
// "FILE, line N: name must be local"; both are skipped. A duplicate name
// warns "FILE.db: duplicate entry: "name"" and the first value wins (-r:
// the last; -w: the first, silently). Every table also gets the entry
// "@" → "@" that Sendmail and NIS take to mean the table is complete.
//
// A build writes a temporary file, fsyncs it and renames it over
// file_name.db: local delivery sees the old aliases or the new ones, never
// a part, and uses the new ones within a second.
//
// Options:
//
//	-c config_dir  read main.cf from config_dir instead of $MAIL_CONFIG or
//	               /etc/postern.
//	-d key         remove key from each table; exit status 0 when it was
//	               found in any ("-d -": keys from standard input).
//	-f             do not fold names to lower case (give it for queries too).
//	-i             incremental: add the aliases on standard input to the
//	               existing table instead of rebuilding it.
//	-N, -n         accepted for compatibility; keys and values are stored
//	               as exact strings, with no trailing NUL.
//	-o             when run as root, do not give the table the owner and
//	               group of its source file.
//	-p             create the table with mode 0644 rather than taking the
//	               group and other read permissions of the source.
//	-q key         print the value of key from the first table that has
//	               it; exit status 0 when found, 1 when not, 2 on an error.
//	               "-q -" reads keys from standard input and prints
//	               "key:<TAB>value" for each one found.
//	-r             on a duplicate name keep the last value, silently.
//	-s             print every entry as "key:<TAB>value", in key order.
//	-v             report how many aliases were written.
//	-w             on a duplicate name keep the first value, silently.
//
// Errors are "postalias: fatal: …" on standard error, exit status 1
// (newaliases: "newaliases: fatal: …").
//
// # Security
//
// postalias is not set-uid. Commands and files named in an alias run
// with the rights of the owner of the alias table (see local), so, when
// run as root, postalias gives a built table the owner and group of its
// source file (unless -o): an alias file an ordinary user owns never
// produces a root-owned table. Lines are at most 64 KB.
//
// # Configuration
//
//	alias_database         the tables newaliases builds (hash:/etc/aliases).
//	config_directory       where main.cf is (-c, $MAIL_CONFIG).
//	default_database_type  the type of a table named without one (hash).
//
// # Files
//
//	/etc/aliases      the usual alias source.
//	/etc/aliases.db   the compiled table (bbolt), whatever its type.
//	/etc/postern/main.cf  the configuration.
package postalias
