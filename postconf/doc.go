// Package postconf is the postconf command: it shows Postern's
// configuration parameters and master.cf services, and changes main.cf.
//
// # Synopsis
//
//	postconf [-dhHnxf] [-c config_dir] [-o name=value] [name ...]
//	postconf -e [-c config_dir] name=value ...
//	postconf -X [-c config_dir] name ...
//	postconf -# [-c config_dir] name ...
//	postconf -M [-f] [-c config_dir] [service[/type]] ...
//	postconf -F [-c config_dir] [service[/type[/field]]] ...
//	postconf -P [-c config_dir] [service[/type[/name]]] ...
//	postconf -m | -l
//
// # Description
//
// With no options postconf prints every parameter Postern knows, with the
// value in effect (set in main.cf, else the default), one "name = value"
// line each, sorted by name. Values are shown as written, with their
// $name references; -x expands them. Naming parameters prints only those.
// A name Postern does not know gives "postconf: warning: name: unknown
// parameter" and nothing else; the exit status stays 0.
//
// Viewing options:
//
//	-d  print the built-in defaults instead of the values in effect;
//	    main.cf is not read.
//	-n  print only the parameters main.cf sets (and -o overrides).
//	-h  print values only.
//	-H  print names only.
//	-x  expand $name references in the values printed.
//	-f  fold lines longer than 80 columns; continuation lines start
//	    with four spaces, as main.cf allows.
//	-o name=value
//	    override a parameter for this run only (repeatable).
//
// Editing main.cf. Each edit rewrites main.cf atomically (a temporary file
// in the same directory, synced, renamed over the old one) and keeps its
// comments, blank lines, order, mode and owner:
//
//	-e  set each name=value (or "name = value") argument: every line
//	    assigning the name, with its continuation lines, is replaced, or
//	    the assignment is appended at the end. A value is refused when it
//	    is not valid $name syntax, so an edit cannot make main.cf
//	    unreadable.
//	-X  remove every assignment of each named parameter.
//	-#  comment out every assignment of each named parameter by putting
//	    "#" before its lines.
//
// A name assigned more than once gives "postconf: warning: FILE:
// multiple entries for "name"", and every assignment is changed.
//
// master.cf:
//
//	-M  print services, one per line in the normalized column form
//	    (with -f, folded: leading -o options one per line). Arguments
//	    select services by name or name/type.
//	-F  print each service's columns as service/type/field = value, with
//	    the fields service, type, private, unprivileged, chroot, wakeup,
//	    process_limit and command ("qmgr/unix/wakeup = 300").
//	-P  print each service's -o overrides as service/type/name = value.
//
// In -F and -P arguments, "*" or a missing part matches anything. A
// selection that matches nothing gives "postconf: warning: unmatched
// request". Without a master.cf, the built-in service table is shown.
//
// Lists:
//
//	-m  the lookup table types Postern supports (hash, texthash, regexp,
//	    cidr, inline, static, …), one per line.
//	-l  the mailbox lock types: flock, fcntl and dotlock.
//
// Checks. Whenever main.cf is read, a setting nothing uses draws
// "postconf: warning: FILE: unused parameter: name=value" on standard
// error: a name that is neither a parameter Postern knows, nor referred to
// as $name by another value (in main.cf or in a master.cf -o override),
// nor a smtpd_restriction_classes name, nor SERVICE_suffix for a master.cf
// service whose default_suffix exists (relay_destination_concurrency_limit
// with a relay service). A master.cf -o override nothing uses draws the
// same warning naming master.cf. A syntax error in main.cf, such as an
// unterminated "${", a parameter reference loop, or a master.cf line with
// too few columns, stops postconf with one message naming the file and
// line and exit status 1:
//
//	postconf: fatal: /etc/postern/main.cf, line 3: myorigin = "${foo": unterminated "${": missing "}" in "${foo"
//	postconf: fatal: /etc/postern/master.cf: line 12: field "command": missing
//
// Differences from Postfix: a syntax error in main.cf is fatal here (Postfix
// warns and carries on); -e refuses a value with broken $name syntax; a
// master.cf name/type given twice shows once, the later entry, as master
// uses it; -a, -A, -b, -t, -T and editing master.cf (-Me, -Fe, -Pe) are
// not implemented.
//
// # Security
//
// postconf needs no privileges. It reads main.cf and master.cf; with -e,
// -X or -# it writes main.cf and so needs write access to the
// configuration directory. It runs no other program and makes no network
// connection.
//
// # Configuration
//
// postconf reads every parameter (it prints them). The configuration
// directory is the -c argument, else $MAIL_CONFIG, else /etc/postern.
//
// # Files
//
//	$config_directory/main.cf    parameters
//	$config_directory/master.cf  services (built-in table when missing)
package postconf
