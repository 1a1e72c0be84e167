package postsuper

import (
	"net"
	"os"
	"strings"

	"github.com/postern-mta/postern/internal/maillog"
)

// openMailLog opens the mail log as master writes it, so that what
// postsuper does is on record beside the daemons' lines, as Postfix's
// postsuper logs to syslog as well as to standard error: maillog_file when
// set (and under one of maillog_file_prefixes, which master requires),
// else syslog at /dev/log. It returns nil when neither can be opened (the
// lines still go to standard error), and a function that closes it.
// Lines are "postern/postsuper[PID]: …" (syslog_name and the PID).
func openMailLog(file string, prefixes []string, syslogName string) (*maillog.Logger, func()) {
	var direct *maillog.Direct
	var closer func() error
	if file != "" {
		ok := false
		for _, p := range prefixes {
			ok = ok || strings.HasPrefix(file, p)
		}
		if !ok {
			return nil, func() {}
		}
		f, err := os.OpenFile(file, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			return nil, func() {}
		}
		host, _ := os.Hostname()
		direct, closer = maillog.NewDirect(f, host, false), f.Close
	} else {
		c, err := net.Dial("unixgram", "/dev/log")
		if err != nil {
			return nil, func() {}
		}
		direct, closer = maillog.NewDirect(c, "", true), c.Close
	}
	return maillog.New(direct, syslogName, "postsuper", os.Getpid()), func() { closer() }
}
