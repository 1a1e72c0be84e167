// Package sendmail is Postern's sendmail command, the interface every
// mail program on Unix uses to send mail, with Postfix's options and
// messages.
//
// # Synopsis
//
//	sendmail [options] [recipient …]
//	mailq [options]                   (sendmail -bp)
//	newaliases [options]              (sendmail -bi)
//
// # Description
//
// By default sendmail reads a message on its standard input and queues it
// for the recipients named on the command line. Each argument is read as
// an address list, so "a@x, Name <b@y>" names two recipients. A line
// holding only "." ends the input unless -i or -oi is given. Leading
// "From " lines (mbox separators) are skipped. CR before LF is removed as
// sendmail_fix_line_endings says (always, strict: as the first line does,
// never). The message goes to the set-group-ID postdrop, which writes it
// into the maildrop queue; pickup and cleanup take it from there. This
// works whether or not the mail system runs: the message waits.
//
// The envelope sender is -f or -r, else the login name; cleanup adds
// @$myorigin to a bare name. The full name, used for a From: header
// cleanup adds when the message has none, is -F, else the NAME
// environment variable, else the password file's name field.
//
// Options (Postfix's set; getopt rules: options end at the first
// argument that is not one, or at "--"):
//
//	-bm          deliver the message on standard input (the default)
//	-bp          list the queue: runs postqueue -p (as mailq does)
//	-bs          SMTP on standard input and output: runs smtpd -S
//	-bv          verify the recipients and mail a report; no message is read
//	-bd, -bl     start the mail system (postfix start)
//	-bi, -I      rebuild the alias databases (postalias on alias_database,
//	             or on -oAtable)
//	-bh, -bH     ignored
//	-t           take recipients from To:, Cc: and Bcc: (Resent- ones when
//	             present), in addition to the command line
//	-i, -oi      a lone "." does not end the input
//	-f addr, -r addr  envelope sender ("<>" is the null sender)
//	-F name      full name
//	-N dsn       DSN NOTIFY: never, or success,delay,failure
//	-R ret       DSN RET: hdrs or full
//	-V envid     DSN ENVID
//	-XV, -XVxy   VERP with the default or the given delimiters
//	-B type      7BIT or 8BITMIME
//	-G           gateway submission: header addresses are not completed
//	-C dir       configuration directory (or its main.cf)
//	-v           mail a report of the delivery (twice: verbose)
//	-q           deliver the deferred mail now (postqueue -f)
//	-qRsite      deliver mail for site now (postqueue -s site)
//	-qIqueueid   deliver one message now (postqueue -i queueid)
//	-qNNm        ignored
//	ignored:     -Ac -Am -c -e x -h N -L x -m -n -o7 -o8 -om -O o=v -p x -U -x -X x
//
// With -v or -bv it says "Mail Delivery Status Report will be mailed to
// <sender>." once the message is queued. Bad -N, -R and -V values are
// warned about and ignored, as in Postfix.
//
// Every failure is a "sendmail: fatal: …" line and exit status 75
// (EX_TEMPFAIL), with Postfix's words:
//
//	sendmail: invalid option -- 'Z'
//	sendmail: fatal: usage: sendmail [options]
//	sendmail: fatal: Recipient addresses must be specified on the command line or via the -t option
//	sendmail: fatal: root(0): No recipient addresses found in message header
//	sendmail: fatal: root(0): message file too big
//
// ("root(0)" is the sender and the uid). A message over
// message_size_limit or without recipients is not queued: postdrop is
// stopped and removes its file.
//
// Once main.cf is read, the warnings and fatal errors also go to the mail
// log, as "postern/sendmail[PID]: fatal: …" lines, as Postfix's sendmail
// logs them: to maillog_file when it is set and the user may append to it,
// else to syslog (/dev/log). The smtpd that -bs runs logs there too rather
// than on the user's terminal (standard error when neither can be opened).
//
// # Security
//
// sendmail is not set-id: it runs as its caller and gets its privilege to
// queue mail from postdrop, which checks authorized_submit_users (sendmail
// checks it too, for a clearer message). The environment variables it
// honours are MAIL_CONFIG and NAME. Someone other than root may name with
// -C only a directory listed in the default main.cf's
// alternate_config_directories or multi_instance_directories. Use "--"
// before recipients that come from untrusted input.
//
// # Configuration
//
//	message_size_limit          largest message
//	header_size_limit           bytes of one header read for -t
//	sendmail_fix_line_endings   always, strict or never
//	authorized_submit_users     who may submit
//	alias_database              what -bi rebuilds
//	command_directory           where postdrop and postqueue are (when
//	                            they are not next to this program)
//	default_verp_delimiters, verp_delimiter_filter   for -XV
//	myorigin                    (cleanup completes bare names with it)
//	maillog_file, maillog_file_prefixes, syslog_name   where warnings
//	                            and fatal errors are logged
//
// # Files
//
//	postdrop, postqueue         next to the postern binary, else in $command_directory
//	$queue_directory/maildrop/  where postdrop puts the message
package sendmail
