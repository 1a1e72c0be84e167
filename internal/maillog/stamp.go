package maillog

import (
	"strconv"
	"time"
)

// Stamp puts the syslog-style time and host in front of a line a daemon
// wrote: "Nov 24 01:05:50 mx.example.test " + line. Postfix writes the day
// of the month padded with a space ("Nov  4"), as syslog does.
func Stamp(dst []byte, t time.Time, host string, line []byte) []byte {
	dst = t.AppendFormat(dst, time.Stamp)
	dst = append(dst, ' ')
	dst = append(dst, host...)
	dst = append(dst, ' ')
	return append(dst, line...)
}

// Prefix builds the "name/service[pid]: " form a Logger writes, for lines
// master makes up on behalf of a child (a crash trace, say).
func Prefix(name, service string, pid int) string {
	p := name
	if service != "" {
		p += "/" + service
	}
	return p + "[" + strconv.Itoa(pid) + "]: "
}
