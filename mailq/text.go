package mailq

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/postern-mta/postern/internal/proto"
	"github.com/postern-mta/postern/queue"
)

// Printer prints a listing one entry at a time. Close ends the listing
// (the summary, for the text format) and flushes; it must be called even
// when there were no entries.
type Printer interface {
	Entry(e *proto.QueueEntry) error
	Close() error
}

// The long-ID layout of Postfix's showq_compat: a heading or recipient
// line, and a sender line.
const (
	stringFormat = "%-17s %8s %-19s %s\n"
	senderFormat = "%-17s %8d %19.19s %s\n"
)

// asctime is asctime(3) without the year: the 19 characters Postfix
// shows.
const asctime = "Mon Jan _2 15:04:05"

// Text prints Postfix's mailq format (postqueue -p).
type Text struct {
	w *bufio.Writer
	// Location is the time zone of arrival times; nil means time.Local.
	Location *time.Location
	count    int64
	size     int64
	err      error
}

var _ Printer = (*Text)(nil)

// NewText returns a printer of the text format on w.
func NewText(w io.Writer) *Text {
	return &Text{w: bufio.NewWriterSize(w, 64<<10)}
}

func (t *Text) printf(format string, args ...any) {
	if t.err == nil {
		_, t.err = fmt.Fprintf(t.w, format, args...)
	}
}

// Entry prints one message.
func (t *Text) Entry(e *proto.QueueEntry) error {
	if t.count == 0 {
		t.printf(stringFormat, "----Queue ID-----", "--Size--", "---Arrival Time----", "--Sender/Recipient------")
	} else {
		t.printf("\n")
	}
	t.count++
	t.size += e.MessageSize
	id := e.QueueID
	switch e.QueueName {
	case queue.Active:
		id += "*"
	case queue.Hold:
		id += "!"
	}
	if e.ForcedExpire {
		id += "#"
	}
	loc := t.Location
	if loc == nil {
		loc = time.Local
	}
	arrival := time.Unix(e.ArrivalTime, 0).In(loc).Format(asctime)
	t.printf(senderFormat, id, e.MessageSize, arrival, e.Sender)
	last := ""
	for _, r := range e.Recipients {
		// A reason line only when the reason changes; "reason
		// unavailable" when a recipient has none after one that had.
		if r.DelayReason != last {
			last = r.DelayReason
			show := last
			if show == "" {
				show = "reason unavailable"
			}
			t.printf("%s(%s)\n", strings.Repeat(" ", max(76-len(show), 0)), show)
		}
		t.printf(stringFormat, "", "", "", r.Address)
	}
	return t.err
}

// Close prints the summary, or "Mail queue is empty", and flushes.
func (t *Text) Close() error {
	if t.count == 0 {
		t.printf("Mail queue is empty\n")
	} else {
		s := "s"
		if t.count == 1 {
			s = ""
		}
		t.printf("\n-- %d Kbytes in %d Request%s.\n", t.size/1024, t.count, s)
	}
	if t.err == nil {
		t.err = t.w.Flush()
	}
	return t.err
}

// JSON prints postqueue -j's format: one object per message and line.
type JSON struct {
	w   *bufio.Writer
	buf []byte
	err error
}

var _ Printer = (*JSON)(nil)

// NewJSON returns a printer of the JSON format on w.
func NewJSON(w io.Writer) *JSON {
	return &JSON{w: bufio.NewWriterSize(w, 64<<10)}
}

// Entry prints one message.
func (j *JSON) Entry(e *proto.QueueEntry) error {
	if j.err != nil {
		return j.err
	}
	j.buf = AppendJSON(j.buf[:0], e)
	_, j.err = j.w.Write(j.buf)
	return j.err
}

// Close flushes.
func (j *JSON) Close() error {
	if j.err == nil {
		j.err = j.w.Flush()
	}
	return j.err
}

// AppendJSON appends e as one line of postqueue -j output, with
// Postfix's member order and spacing.
func AppendJSON(b []byte, e *proto.QueueEntry) []byte {
	b = append(b, `{"queue_name": "`...)
	b = appendJSONString(b, e.QueueName)
	b = append(b, `", "queue_id": "`...)
	b = appendJSONString(b, e.QueueID)
	b = append(b, `", "arrival_time": `...)
	b = strconv.AppendInt(b, e.ArrivalTime, 10)
	b = append(b, `, "message_size": `...)
	b = strconv.AppendInt(b, e.MessageSize, 10)
	b = append(b, `, "forced_expire": `...)
	if e.ForcedExpire {
		b = append(b, "true"...)
	} else {
		b = append(b, "false"...)
	}
	b = append(b, `, "sender": "`...)
	b = appendJSONString(b, e.Sender)
	b = append(b, `", "recipients": [`...)
	for i, r := range e.Recipients {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = append(b, `{"address": "`...)
		b = appendJSONString(b, r.Address)
		b = append(b, '"')
		if r.DelayReason != "" {
			b = append(b, `, "delay_reason": "`...)
			b = appendJSONString(b, r.DelayReason)
			b = append(b, '"')
		}
		b = append(b, '}')
	}
	return append(b, "]}\n"...)
}

// appendJSONString escapes s as Postfix's json_quote does: quote,
// backslash and control characters; bytes that are not valid UTF-8
// become '?'.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n <= 1 {
				b = append(b, '?')
				i++
				continue
			}
			b = append(b, s[i:i+n]...)
			i += n
			continue
		}
		i++
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\b':
			b = append(b, '\\', 'b')
		case '\f':
			b = append(b, '\\', 'f')
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			if c < 0x20 || c == 0x7f {
				b = fmt.Appendf(b, `\u%04X`, c)
			} else {
				b = append(b, c)
			}
		}
	}
	return b
}
