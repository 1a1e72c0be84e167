// Package postmap is the postmap command: it builds Postern lookup tables
// from text, queries any table type, lists and edits compiled tables.
//
// # Synopsis
//
//	postmap [-NfinoprsuUvw] [-c config_dir] [-d key] [-q key]
//	        [file_type:]file_name ...
//
// # Description
//
// Without -q, -d or -s, postmap builds each named table from its source:
// file_name is read and compiled into file_name.db. The types that are
// built are hash, btree, lmdb, cdb and dbm; all of them produce the same
// file, a bbolt database named file_name.db (never .cdb, .lmdb or
// .pag/.dir): Postern reads all compiled types the same way. Without a
// file_type, default_database_type (hash) is used.
//
// The source holds one entry per logical line, "key whitespace value":
//
//   - blank lines and lines whose first non-blank character is '#' are
//     ignored;
//   - a line that starts with whitespace continues the previous line; the
//     whitespace is kept ("first part" + "  continued part" gives
//     "first part  continued part");
//   - the key ends at the first whitespace outside double quotes; a key
//     such as "two words" is stored with its quotes, as Postfix does, and
//     a backslash escapes the next character;
//   - surrounding whitespace is trimmed from the value.
//
// A line without a value gives "postmap: warning: FILE, line N: expected
// format: key whitespace value" and is skipped; the build goes on and
// exits 0. A duplicate key gives "postmap: warning: FILE.db: duplicate
// entry: "key"" and the first value wins (-r: the last value wins; -w:
// the first wins silently). Keys are folded to lower case unless -f is
// given, at build time and at query time alike.
//
// A build writes a temporary file next to file_name.db, fsyncs it and
// renames it into place: a server reading the table sees the old table or
// the new one, never a part, and picks up the new one within a second
// without a restart. Builders in one directory wait for each other.
//
// Options:
//
//	-c config_dir  read main.cf from config_dir instead of $MAIL_CONFIG or
//	               /etc/postern.
//	-d key         remove key from each named table; exit status 0 when it
//	               was found in any. "-d -" reads keys from standard input.
//	-f             do not fold keys to lower case (give it for queries too).
//	-i             incremental: add the entries on standard input to the
//	               existing table instead of rebuilding it from its source.
//	-N, -n         accepted for compatibility; Postern stores keys and
//	               values as exact strings, with no trailing NUL to include
//	               or omit.
//	-o             when run as root, do not give the table the owner and
//	               group of its source file.
//	-p             create the table with mode 0644 rather than taking the
//	               group and other read permissions of the source.
//	-q key         print the value of key from the first table that has
//	               it. Exit status 0 when found, 1 when not found, 2 on any
//	               other error (missing table, temporary lookup failure).
//	               With "-q -", keys are read from standard input and
//	               "key<TAB>value" is printed for each key found; exit
//	               status 0 when any was. Queries work on every table type:
//	               texthash, regexp, pcre, cidr, inline, static, unix, ….
//	-r             on a duplicate key keep the last value, silently.
//	-s             print every entry as "key<TAB>value", in key order for
//	               compiled tables, in file order for texthash, inline and
//	               unix tables; regexp, pcre and cidr tables list their
//	               rules as written. static, fail, unionmap and pipemap
//	               tables cannot be listed.
//	-u             do not check that source lines are valid UTF-8.
//	-U             accepted for compatibility.
//	-v             report how many entries were written.
//	-w             on a duplicate key keep the first value, silently.
//
// -b, -h, -m (queries taken from a message) and -F (file-valued entries)
// are not supported and say so.
//
// Diagnostics go to standard error in Postfix's form: "postmap: warning:
// …" for a skipped line, "postmap: fatal: open /etc/postern/x: no such
// file or directory" or "postmap: fatal: unsupported dictionary type:
// foo" for an error, which exits 1 (2 with -q).
//
// # Security
//
// postmap is not set-uid and needs no privileges beyond write access to
// the table's directory. When run as root it gives a built table the
// owner and group of its source file (unless -o), so the table of an
// unprivileged user's source file stays that user's; Postfix instead
// switches to the source file's owner while it builds. Source lines are at
// most 64 KB; longer input is refused with the file name and line.
//
// # Configuration
//
//	config_directory       where main.cf is (-c, $MAIL_CONFIG).
//	default_database_type  the type of a table named without one (hash).
//	smtputf8_enable        check that source lines are UTF-8 (yes).
//
// # Files
//
//	file_name       the source of a table.
//	file_name.db    the compiled table (bbolt), whatever its type.
//	.file_name.db.tmp*  the table being written; renamed into place.
//	/etc/postern/main.cf  the configuration.
package postmap
