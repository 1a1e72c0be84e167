package queue

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// LogRecord is one recipient outcome in a per-message log (bounce/ID,
// defer/ID, trace/ID): what bounce reports and mailq shows as the reason.
type LogRecord struct {
	Recipient string    // final recipient
	Orig      string    // original recipient
	Offset    int64     // the recipient's record offset in the queue file
	Status    string    // enhanced status code X.Y.Z
	Action    string    // failed, delayed, delivered, relayed, expanded
	Reason    string    // the human text: "connect to host[1.2.3.4]:25: Connection refused"
	RemoteMTA string    // "dns; mx.example" or ""
	DiagType  string    // "smtp" or "X-Postfix"
	Diag      string    // the diagnostic text
	Time      time.Time // when it happened (microsecond precision)
}

// maxLogSize bounds what ReadLog reads: far more than any message's
// recipients could log.
const maxLogSize = 64 << 20

// A log file is text: each record is lines of name=value ending with an
// empty line. In values, backslash, newline and carriage return are
// written \\, \n and \r. Readers ignore names they do not know and an
// unfinished last record (a crash while appending).
var logFields = []struct {
	name string
	get  func(*LogRecord) string
	set  func(*LogRecord, string) error
}{
	{"recipient", func(r *LogRecord) string { return r.Recipient }, func(r *LogRecord, v string) error { r.Recipient = v; return nil }},
	{"original_recipient", func(r *LogRecord) string { return r.Orig }, func(r *LogRecord, v string) error { r.Orig = v; return nil }},
	{"offset", func(r *LogRecord) string { return strconv.FormatInt(r.Offset, 10) }, func(r *LogRecord, v string) (err error) {
		r.Offset, err = strconv.ParseInt(v, 10, 64)
		return err
	}},
	{"status", func(r *LogRecord) string { return r.Status }, func(r *LogRecord, v string) error { r.Status = v; return nil }},
	{"action", func(r *LogRecord) string { return r.Action }, func(r *LogRecord, v string) error { r.Action = v; return nil }},
	{"reason", func(r *LogRecord) string { return r.Reason }, func(r *LogRecord, v string) error { r.Reason = v; return nil }},
	{"remote_mta", func(r *LogRecord) string { return r.RemoteMTA }, func(r *LogRecord, v string) error { r.RemoteMTA = v; return nil }},
	{"diag_type", func(r *LogRecord) string { return r.DiagType }, func(r *LogRecord, v string) error { r.DiagType = v; return nil }},
	{"diag_text", func(r *LogRecord) string { return r.Diag }, func(r *LogRecord, v string) error { r.Diag = v; return nil }},
	{"time", func(r *LogRecord) string {
		if r.Time.IsZero() {
			return ""
		}
		return fmt.Sprintf("%d.%06d", r.Time.Unix(), r.Time.Nanosecond()/1000)
	}, func(r *LogRecord, v string) error {
		sec, usec, _ := strings.Cut(v, ".")
		if len(usec) > 6 {
			return errors.New("malformed time")
		}
		s, err1 := strconv.ParseInt(sec, 10, 64)
		u, err2 := strconv.ParseUint(usec+"000000"[len(usec):], 10, 32)
		if err1 != nil || err2 != nil {
			return errors.New("malformed time")
		}
		r.Time = time.Unix(s, int64(u)*1000)
		return nil
	}},
}

var logEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`, "\r", `\r`)
var logUnescaper = strings.NewReplacer(`\\`, `\`, `\n`, "\n", `\r`, "\r")

// AppendLog appends records to the log of message id in logQueue (Bounce,
// Defer or Trace) with one write, so that agents appending at once do not
// interleave. A bounce log is fsynced, since losing it would lose a
// non-delivery notice; defer and trace logs only give reasons and reports.
func (l *Layout) AppendLog(logQueue, id string, recs []LogRecord) error {
	if !ValidID(id) {
		return fmt.Errorf("append to %s log %q: %w", logQueue, id, ErrInvalidID)
	}
	if len(recs) == 0 {
		return nil
	}
	var b strings.Builder
	for i := range recs {
		for _, f := range logFields {
			if v := f.get(&recs[i]); v != "" || f.name == "recipient" {
				b.WriteString(f.name)
				b.WriteByte('=')
				logEscaper.WriteString(&b, v)
				b.WriteByte('\n')
			}
		}
		b.WriteByte('\n')
	}
	path := l.Path(logQueue, id)
	open := func() (*os.File, error) { return os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600) }
	f, err := open()
	if errors.Is(err, fs.ErrNotExist) && os.MkdirAll(filepath.Dir(path), 0o700) == nil {
		f, err = open() // a missing hashed subdirectory
	}
	if err != nil {
		return fmt.Errorf("append to %s log: %w", logQueue, err)
	}
	_, err = f.WriteString(b.String())
	if err == nil && logQueue == Bounce {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("append to %s log %s: %w", logQueue, path, err)
	}
	return nil
}

// ReadLog reads the log of message id in logQueue. A missing log gives
// no records and no error.
func (l *Layout) ReadLog(logQueue, id string) ([]LogRecord, error) {
	if !ValidID(id) {
		return nil, fmt.Errorf("read %s log %q: %w", logQueue, id, ErrInvalidID)
	}
	path := l.Path(logQueue, id)
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s log: %w", logQueue, err)
	}
	defer f.Close()
	return parseLog(f, path)
}

func parseLog(r io.Reader, path string) ([]LogRecord, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), maxRecordLen*2)
	var recs []LogRecord
	var cur LogRecord
	var size int64
	for line := 1; sc.Scan(); line++ {
		text := sc.Text()
		if size += int64(len(text)) + 1; size > maxLogSize {
			return nil, fmt.Errorf("log %s: larger than %d bytes", path, maxLogSize)
		}
		if text == "" {
			recs = append(recs, cur)
			cur = LogRecord{}
			continue
		}
		name, value, ok := strings.Cut(text, "=")
		if !ok {
			return nil, fmt.Errorf("log %s, line %d: %w: expected name=value", path, line, ErrCorrupt)
		}
		for _, f := range logFields {
			if f.name == name {
				if err := f.set(&cur, logUnescaper.Replace(value)); err != nil {
					return nil, fmt.Errorf("log %s, line %d: %w: %s: %v", path, line, ErrCorrupt, name, err)
				}
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read log %s: %w", path, err)
	}
	return recs, nil
}

// RemoveLog removes the log of message id in logQueue, if there is one.
func (l *Layout) RemoveLog(logQueue, id string) error {
	if !ValidID(id) {
		return fmt.Errorf("remove %s log %q: %w", logQueue, id, ErrInvalidID)
	}
	if err := os.Remove(l.Path(logQueue, id)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove %s log: %w", logQueue, err)
	}
	return nil
}
