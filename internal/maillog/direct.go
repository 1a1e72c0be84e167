package maillog

import (
	"bytes"
	"io"
	"strconv"
	"time"
)

// Direct writes a Logger's lines straight to the mail log, the way master
// would: with the time and host in front for a file or a terminal, or as
// one syslog datagram per line. A daemon switches to it once it serves
// (internal/daemon), so that master is not on the path of every line.
type Direct struct {
	w      io.Writer
	syslog bool
	host   string
	now    func() time.Time
	buf    []byte
}

// NewDirect returns a Direct writing to w: stamped lines ("Nov 24 01:05:50
// host line") or, with syslog, "<PRI>Nov 24 01:05:50 line" datagrams.
func NewDirect(w io.Writer, host string, syslog bool) *Direct {
	return &Direct{w: w, host: host, syslog: syslog, now: time.Now}
}

// Write takes whole lines, each ending in a newline, as a Logger writes
// them. A file gets them with one write; syslog one datagram each. It is
// not safe for concurrent use (a Logger serializes its writes).
func (d *Direct) Write(p []byte) (int, error) {
	now := d.now()
	rest := p
	d.buf = d.buf[:0]
	var err error
	for len(rest) > 0 {
		line := rest
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			line, rest = rest[:i], rest[i+1:]
		} else {
			rest = nil
		}
		if d.syslog {
			d.buf = SyslogLine(d.buf[:0], now, line)
			if _, werr := d.w.Write(d.buf); werr != nil && err == nil {
				err = werr
			}
			continue
		}
		d.buf = Stamp(d.buf, now, d.host, line)
		d.buf = append(d.buf, '\n')
	}
	if !d.syslog {
		_, err = d.w.Write(d.buf)
	}
	if cap(d.buf) > 64<<10 {
		d.buf = nil
	}
	if err != nil {
		return 0, err
	}
	return len(p), nil
}

// SyslogLine formats one line (without its newline) as a datagram for
// /dev/log: facility mail, the severity its "warning: "/"error: "/
// "fatal: " word gives, and the time.
func SyslogLine(dst []byte, t time.Time, line []byte) []byte {
	dst = append(dst, '<')
	dst = strconv.AppendInt(dst, int64(2*8+Severity(line)), 10)
	dst = append(dst, '>')
	dst = t.AppendFormat(dst, time.Stamp)
	dst = append(dst, ' ')
	return append(dst, line...)
}

// Severity maps a line's "warning: "/"error: "/"fatal: " word, after the
// "name[pid]: " prefix, to a syslog level: 4, 3, 2, else 6 (info).
func Severity(line []byte) int {
	i := bytes.Index(line, []byte("]: "))
	if i < 0 {
		return 6
	}
	rest := line[i+3:]
	switch {
	case bytes.HasPrefix(rest, []byte("warning: ")):
		return 4
	case bytes.HasPrefix(rest, []byte("error: ")):
		return 3
	case bytes.HasPrefix(rest, []byte("fatal: ")), bytes.HasPrefix(rest, []byte("panic: ")):
		return 2
	}
	return 6
}
