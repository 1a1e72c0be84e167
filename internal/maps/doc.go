// Package maps holds Postern's lookup tables: one small interface, Table,
// in front of every table type Postfix administrators write in main.cf
// ("hash:/etc/postern/access", "regexp:/etc/postern/header_checks", …),
// the builders behind postmap and postalias, and the address lookup
// orders of access(5), virtual(5), canonical(5), transport(5),
// relocated(5) and aliases(5), in one place.
//
// # Basics
//
// Open("type:name", opts) returns a Table; OpenList opens a list such as
// "hash:/a, regexp:/b" where the first table that finds a key wins.
// Lookup has three outcomes: found, not found, and a temporary error. A
// caller turns an error into a 4xx reply or a deferral, never into "not
// found".
//
// Types:
//
//	hash, btree, lmdb, cdb, dbm  compiled by postmap into FILE.db (bbolt)
//	texthash:FILE                the postmap source text, read directly
//	regexp:FILE, pcre:FILE       /pattern/flags result rules (RE2, below)
//	cidr:FILE                    network/length result rules
//	inline:{k1=v1, {k2 = v w}}   a table in the spec itself
//	static:value                 every key finds value (static:{a b})
//	unix:passwd.byname           the /etc/passwd line of a user
//	unix:group.byname            the /etc/group line of a group
//	fail:name                    every lookup is a temporary error
//	environ:name                 the process environment
//	unionmap:{t1, t2}            the comma-joined results of all tables
//	pipemap:{t1, t2}             each result is the next table's key
//
// "proxy:" before a spec is accepted and dropped: Postern's daemons open
// their tables themselves.
//
// Source files (postmap input, texthash, regexp, pcre, cidr, aliases) are
// read as logical lines: a line that starts with whitespace continues
// the one before it (postmap keeps that whitespace: "first part" +
// "  continued part" is "first part  continued part"); blank lines and
// lines whose first non-blank character is '#' are skipped. A postmap
// entry is "key whitespace value"; a key may be "quoted" to hold spaces
// and keeps its quotes, as in Postfix. Fixed-key tables fold keys to
// lower case at build and at query time unless told not to (postmap -f,
// Options.FoldCase).
//
// Tables reload themselves. A table read from a file is cached per
// process and watched: fsnotify on the file's directory (a rebuilt .db
// arrives by rename) marks it stale, and a stat at most once a second on
// lookup is the backstop. The new version is loaded aside and swapped in
// atomically; lookups never wait for a reload and never see half a
// table. If the new version cannot be loaded the old one stays, with a
// warning.
//
// Builders (Create, Update) write a compiled table to a temporary file
// in the same directory, fsync it and rename it over FILE.db. Readers
// open FILE.db read-only and keep that view open across lookups until
// the file is replaced; this is what makes a lookup cost microseconds.
//
// # Caveats
//
// Every compiled type is stored the same way, as a bbolt file named
// FILE.db: hash:/etc/postern/access and cdb:/etc/postern/access are the
// same file, /etc/postern/access.db. A Berkeley DB, CDB or LMDB file left
// by Postfix is not readable; rebuild it with postmap. Keys and values are
// stored as exact strings, without a trailing NUL, so postmap -N and -n
// change nothing.
//
// regexp: and pcre: both use Go's RE2 engine. What that means:
//
//   - no backreferences (\1 in a pattern) and no lookaround ((?=…),
//     (?!…), (?<=…), (?<!…)), no possessive quantifiers, atomic groups,
//     recursion or callouts: a rule using them gets a warning naming the
//     file and line and is skipped;
//   - matching takes time linear in the input, whatever the pattern:
//     no catastrophic backtracking;
//   - regexp: follows POSIX where RE2 can: leftmost-longest matching,
//     '.' matches a newline unless the 'm' flag is given; flag 'x' (basic
//     regular expressions) is not supported;
//   - pcre: flags i, m, s, x, A, U are honoured; E and X change nothing;
//   - both are case-insensitive by default, 'i' toggles it; results
//     substitute $1, ${1}, $(1) and $$.
//
// Limits: a logical line is at most MaxLineLength bytes; a regexp or pcre
// table holds at most MaxPatternRules rules, a cidr table MaxCIDRRules,
// a texthash or unix table MaxTextEntries entries; if/endif nest at most
// MaxNesting deep. A source past a limit is refused with an error naming
// the file and line. A compiled table's key is at most MaxKeyLength
// bytes. A build sorts at most 131072 entries in memory at a time,
// whatever the size of the source.
//
// unix: reads /etc/passwd and /etc/group directly: users known only to
// NSS modules (LDAP, sssd) are not found.
//
// In a chrooted daemon (chroot y in master.cf) tables are opened before
// the daemon confines itself, and then keep working; but a table's file is
// out of reach inside the jail, so it cannot be reloaded in place. After
// Confine a table keeps the version it loaded, and a change to its file
// makes the daemon log "table … has changed -- restarting" and let master
// start a fresh one, as Postfix's daemons do. A table whose file was
// missing when a chrooted daemon started stays unavailable (lookups fail
// temporarily) until that daemon is restarted: "postfix reload".
package maps
