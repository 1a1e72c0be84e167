// Package maillog writes Postern's mail log: one line per event, in the
// shape Postfix uses, so pflogsumm and every tool written for Postfix's log
// read it unchanged.
//
// A daemon's Logger writes "syslog_name/service[pid]: text" lines to its
// standard error, which master reads and writes, with the time and host in
// front, to maillog_file, to its own standard error (start-fg) or to syslog
// (see Stamp). Once the daemon serves, it writes them itself, the same way,
// to the descriptor of the log master gave it (see Direct). Lines about a message start with its queue ID; the lines that
// log tools parse (deliveries, rejects) have typed methods so their shape
// is fixed in one place.
package maillog

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Logger writes mail log lines for one program.
type Logger struct {
	mu     sync.Mutex
	w      io.Writer
	prefix string
	buf    []byte
	exit   func(int)
	// With batching on (Batch), lines wait in pending for at most delay
	// and go out together: one write, and one read in master, for many
	// lines when the daemon is busy.
	delay   time.Duration
	pending []byte
	kick    chan struct{}
}

// batchLimit is how much a batching Logger holds before it writes at once.
const batchLimit = 16 << 10

// Batch makes the Logger gather lines for up to delay before writing them
// in one go. Warnings, errors and fatal lines are written at once (with
// what is gathered before them), so nothing that explains a crash waits;
// Flush writes the rest.
func (l *Logger) Batch(delay time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.kick != nil || delay <= 0 {
		return
	}
	l.delay = delay
	l.kick = make(chan struct{}, 1)
	go l.flusher()
}

func (l *Logger) flusher() {
	for range l.kick {
		time.Sleep(l.delay)
		l.Flush()
	}
}

// Flush writes the lines a batching Logger still holds.
func (l *Logger) Flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.flushLocked()
}

func (l *Logger) flushLocked() {
	if len(l.pending) == 0 {
		return
	}
	l.w.Write(l.pending) //nolint:errcheck // nowhere to report a failed log write
	if cap(l.pending) > 4*batchLimit {
		l.pending = nil
	} else {
		l.pending = l.pending[:0]
	}
}

// SetOutput sends the following lines to w, after writing what a
// batching Logger holds to the old writer.
func (l *Logger) SetOutput(w io.Writer) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.flushLocked()
	l.w = w
}

// New returns a Logger whose lines start with "name/service[pid]: ". With
// service empty the prefix is "name[pid]: "; with pid 0 it is "name: " (the
// form of command-line tools: "postsuper: ...").
func New(w io.Writer, name, service string, pid int) *Logger {
	p := name
	if service != "" {
		p += "/" + service
	}
	if pid != 0 {
		p += "[" + strconv.Itoa(pid) + "]"
	}
	return &Logger{w: w, prefix: p + ": ", exit: os.Exit}
}

// Discard is a Logger that writes nothing, for tests and tools.
func Discard() *Logger { return New(io.Discard, "", "", 0) }

// Prefix returns what starts every line, e.g. "postern/smtpd[812]: ".
func (l *Logger) Prefix() string { return l.prefix }

func (l *Logger) line(severity, format string, args []any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := append(l.buf[:0], l.prefix...)
	b = append(b, severity...)
	if len(args) == 0 {
		b = append(b, format...)
	} else {
		b = fmt.Appendf(b, format, args...)
	}
	b = cleanLine(b, len(l.prefix))
	b = append(b, '\n')
	if cap(b) <= 4096 {
		l.buf = b
	}
	if l.kick == nil {
		l.w.Write(b) //nolint:errcheck // nowhere to report a failed log write
		return
	}
	l.pending = append(l.pending, b...)
	if severity != "" || len(l.pending) >= batchLimit {
		l.flushLocked()
		return
	}
	select {
	case l.kick <- struct{}{}:
	default:
	}
}

// cleanLine keeps one event on one line: newlines and other control
// characters in text from outside become spaces.
func cleanLine(b []byte, from int) []byte {
	for i := from; i < len(b); i++ {
		if b[i] < ' ' && b[i] != '\t' {
			b[i] = ' '
		}
	}
	return b
}

// Info logs an event.
func (l *Logger) Info(format string, args ...any) { l.line("", format, args) }

// Warning logs a problem that Postern works around.
func (l *Logger) Warning(format string, args ...any) { l.line("warning: ", format, args) }

// Error logs a problem that failed one operation.
func (l *Logger) Error(format string, args ...any) { l.line("error: ", format, args) }

// FatalLine logs a fatal error of a command that exits on its own, with
// its own status (sendmail's 75, postsuper's 1): "fatal: …", as Postfix's
// commands log it.
func (l *Logger) FatalLine(format string, args ...any) {
	l.line("fatal: ", format, args)
	l.Flush()
}

// Fatal logs a broken environment and exits with status 1.
func (l *Logger) Fatal(format string, args ...any) {
	l.line("fatal: ", format, args)
	l.Flush()
	l.exit(1)
}

// Delivery is one recipient's delivery outcome, the line pflogsumm counts.
type Delivery struct {
	QueueID string
	To      string
	OrigTo  string // logged as orig_to= only when it differs from To
	Relay   string // host[ip]:port, "none", "local" or a transport name
	Delay   time.Duration
	// Delays are the four parts of Delay: before the active queue, in the
	// active queue, connection setup, transmission.
	Delays [4]time.Duration
	DSN    string // X.Y.Z
	Status string // sent, deferred, bounced, expired, deliverable, undeliverable
	Text   string // the reason in parentheses
}

// Delivery logs "QID: to=<…>, [orig_to=<…>, ]relay=…, delay=…,
// delays=a/b/c/d, dsn=X.Y.Z, status=S (text)".
func (l *Logger) Delivery(d Delivery) {
	l.Info("%s", FormatDelivery(d))
}

// FormatDelivery gives the text of a Delivery line without the prefix.
func FormatDelivery(d Delivery) string {
	var b strings.Builder
	b.Grow(160 + len(d.Text))
	b.WriteString(d.QueueID)
	b.WriteString(": to=<")
	b.WriteString(d.To)
	b.WriteString(">, ")
	if d.OrigTo != "" && d.OrigTo != d.To {
		b.WriteString("orig_to=<")
		b.WriteString(d.OrigTo)
		b.WriteString(">, ")
	}
	b.WriteString("relay=")
	b.WriteString(d.Relay)
	b.WriteString(", delay=")
	b.WriteString(FormatDelay(d.Delay))
	b.WriteString(", delays=")
	for i, x := range d.Delays {
		if i > 0 {
			b.WriteByte('/')
		}
		b.WriteString(FormatDelay(x))
	}
	b.WriteString(", dsn=")
	b.WriteString(d.DSN)
	b.WriteString(", status=")
	b.WriteString(d.Status)
	b.WriteString(" (")
	b.WriteString(d.Text)
	b.WriteString(")")
	return b.String()
}

// FormatDelay prints a delay in seconds the way Postfix's log readers expect:
// "0" for nothing, two decimals below one second, one decimal below ten,
// whole seconds above.
func FormatDelay(d time.Duration) string {
	s := d.Seconds()
	switch {
	case d <= 0:
		return "0"
	case s < 0.01:
		return "0"
	case s < 1:
		return strconv.FormatFloat(s, 'f', 2, 64)
	case s < 10:
		return strconv.FormatFloat(s, 'f', 1, 64)
	default:
		return strconv.FormatInt(int64(s), 10)
	}
}

// Reject is an SMTP-time rejection.
type Reject struct {
	QueueID string // "NOQUEUE" before a queue file exists
	Stage   string // CONNECT, HELO, MAIL, RCPT, DATA, END-OF-MESSAGE, ETRN, VRFY
	Client  string // host[ip]
	Reply   string // "550 5.1.1 <x@y>: Recipient address rejected: ..."
	From    string
	To      string // empty: no to= field
	Proto   string // SMTP or ESMTP
	Helo    string // empty: no helo= field
	Action  string // "reject" (default), "hold", "discard", "warn", "filter", "redirect"
}

// Reject logs "NOQUEUE: reject: RCPT from host[ip]: 550 5.1.1 <x>: text;
// from=<s> to=<r> proto=ESMTP helo=<h>".
func (l *Logger) Reject(r Reject) {
	l.Info("%s", FormatReject(r))
}

// FormatReject gives the text of a Reject line without the prefix.
func FormatReject(r Reject) string {
	id := r.QueueID
	if id == "" {
		id = "NOQUEUE"
	}
	action := r.Action
	if action == "" {
		action = "reject"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s: %s from %s: %s; from=<%s>", id, action, r.Stage, r.Client, r.Reply, r.From)
	if r.To != "" {
		fmt.Fprintf(&b, " to=<%s>", r.To)
	}
	if r.Proto != "" {
		fmt.Fprintf(&b, " proto=%s", r.Proto)
	}
	if r.Helo != "" {
		fmt.Fprintf(&b, " helo=<%s>", r.Helo)
	}
	return b.String()
}
