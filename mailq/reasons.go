package mailq

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"syscall"
)

// A listing reads one defer log per message. queue.ReadLog opens
// it with os.Open, which on Linux costs five system calls more than the
// open itself (non-blocking mode on and off, a poller registration that
// fails for regular files), and keeps every field. Listing a large queue
// is mostly system calls, so mailq reads the log itself: open, read,
// close, and only the fields a listing shows. The format is the queue
// package's (see its documentation): records of "name=value" lines, each
// ended by an empty line; backslash, newline and carriage return escaped
// as \\, \n and \r; unknown names ignored; an unfinished last record
// ignored.

// maxReasonLog bounds the defer log read for a listing; a longer one
// (thousands of recipients) gives no reasons and a warning.
const maxReasonLog = 16 << 20

var logBufs = sync.Pool{New: func() any { b := make([]byte, 0, 8<<10); return &b }}

// reasonRecord is what a listing needs of a defer log record.
type reasonRecord struct {
	recipient string
	offset    int64
	reason    string
}

// readReasons reads the defer log at path. A missing log gives nothing
// and no error.
func readReasons(path string) ([]reasonRecord, error) {
	bp := logBufs.Get().(*[]byte)
	defer logBufs.Put(bp)
	data, err := readSmallFile(path, (*bp)[:0], maxReasonLog)
	*bp = data[:0]
	if errors.Is(err, syscall.ENOENT) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read defer log %s: %w", path, err)
	}
	return parseReasons(data), nil
}

// readSmallFile reads the whole file at path into buf with plain system
// calls, failing when it is longer than limit.
func readSmallFile(path string, buf []byte, limit int) ([]byte, error) {
	var fd int
	var err error
	for {
		fd, err = syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC|syscall.O_NOFOLLOW, 0)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		return buf, err
	}
	defer syscall.Close(fd)
	for {
		if len(buf) == cap(buf) {
			if len(buf) >= limit {
				return buf, fmt.Errorf("longer than %d bytes", limit)
			}
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := syscall.Read(fd, buf[len(buf):cap(buf)])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return buf, err
		}
		if n == 0 {
			return buf, nil
		}
		short := n < cap(buf)-len(buf)
		buf = buf[:len(buf)+n]
		if len(buf) > limit {
			return buf, fmt.Errorf("longer than %d bytes", limit)
		}
		if short {
			// A regular file reads short only at its end: no need
			// for one more read to see end-of-file.
			return buf, nil
		}
	}
}

// parseReasons parses a defer log. Lines that are not name=value are
// skipped: a listing shows what it can.
func parseReasons(data []byte) []reasonRecord {
	var recs []reasonRecord
	var cur reasonRecord
	for len(data) > 0 {
		line := data
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			break // an unfinished line: a crash while appending
		}
		line, data = data[:i], data[i+1:]
		line = bytes.TrimSuffix(line, []byte("\r")) // as bufio.ScanLines, which the queue's reader uses
		if len(line) == 0 {
			recs = append(recs, cur)
			cur = reasonRecord{}
			continue
		}
		name, value, ok := bytes.Cut(line, []byte("="))
		if !ok {
			continue
		}
		switch string(name) {
		case "recipient":
			cur.recipient = unescape(value)
		case "offset":
			cur.offset, _ = strconv.ParseInt(string(value), 10, 64)
		case "reason":
			cur.reason = unescape(value)
		}
	}
	return recs
}

// unescape undoes the log's escapes: \\, \n and \r.
func unescape(v []byte) string {
	if bytes.IndexByte(v, '\\') < 0 {
		return string(v)
	}
	b := make([]byte, 0, len(v))
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == '\\' && i+1 < len(v) {
			switch v[i+1] {
			case '\\':
				c = '\\'
				i++
			case 'n':
				c = '\n'
				i++
			case 'r':
				c = '\r'
				i++
			}
		}
		b = append(b, c)
	}
	return string(b)
}
