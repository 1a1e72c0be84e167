package maillog

import (
	"net"
	"os"
	"strings"

	"github.com/postern-mta/postern/internal/config"
)

// Place is where the mail log is, as main.cf says: maillog_file,
// maillog_file_prefixes, syslog_name. Every command that logs outside
// master reads it the same way (PlaceOf).
type Place struct {
	File       string
	Prefixes   []string
	SyslogName string
}

// PlaceOf reads the mail log's place; errors stay in r, as with every
// parameter.
func PlaceOf(r *config.Reader) Place {
	return Place{File: r.String("maillog_file"), Prefixes: r.List("maillog_file_prefixes"), SyslogName: r.String("syslog_name")}
}

// OpenForCommand opens the mail log for a command that runs outside
// master (postsuper, sendmail, a daemon run by sendmail -bs), so that what
// it reports is on record beside the daemons' lines, as Postfix's commands
// log to syslog as well as to standard error: maillog_file when it is set
// and lies under one of maillog_file_prefixes (as master requires), else
// syslog at /dev/log. It returns nil when neither can be opened, which is
// usual for a user's command when the log is root's file; the command
// still reports on standard error. Lines are "syslog_name/program[PID]: …".
// The function it returns closes the log.
func OpenForCommand(at Place, program string) (*Logger, func()) {
	var direct *Direct
	var closer func() error
	if at.File != "" {
		ok := false
		for _, p := range at.Prefixes {
			ok = ok || strings.HasPrefix(at.File, p)
		}
		if !ok {
			return nil, func() {}
		}
		f, err := os.OpenFile(at.File, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			return nil, func() {}
		}
		host, _ := os.Hostname()
		direct, closer = NewDirect(f, host, false), f.Close
	} else {
		c, err := net.Dial("unixgram", "/dev/log")
		if err != nil {
			return nil, func() {}
		}
		direct, closer = NewDirect(c, "", true), c.Close
	}
	return New(direct, at.SyslogName, program, os.Getpid()), func() { closer() } //nolint:errcheck // nothing to do about it
}
