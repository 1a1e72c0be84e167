package bounce

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strings"

	"github.com/postern-mta/postern/internal/proto"
	"github.com/postern-mta/postern/queue"
)

// errGone says the message a report is about is no longer in any queue:
// there is no sender to write to.
var errGone = errors.New("message file not found")

// message is what a notification is made from: the queue file (opened
// read-only) and one of its logs, joined recipient by recipient.
type message struct {
	id    string
	file  *queue.File
	env   *queue.Envelope
	rcpts []rcptStatus

	msgID     string // the original's Message-Id, for threaded reports
	msgIDDone bool
}

func (m *message) Close() error { return m.file.Close() }

// load opens the queue file of id, looking first in queueName (where the
// caller says it is), and reads the log logQueue of it. A message in no
// queue gives errGone.
func (s *server) load(queueName, id, logQueue string) (*message, error) {
	f, err := s.open(queueName, id)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errGone
	}
	if err != nil {
		return nil, fmt.Errorf("read message %s: %w", id, err)
	}
	recs, err := s.cfg.Layout.ReadLog(logQueue, id)
	if err != nil {
		f.Close()
		return nil, err
	}
	return &message{id: id, file: f, env: &f.Envelope, rcpts: join(&f.Envelope, recs)}, nil
}

// open opens the queue file of id read-only, in queueName or, if it is
// not there (it moved since the request was sent), wherever it is.
func (s *server) open(queueName, id string) (*queue.File, error) {
	if slices.Contains(queue.MessageQueues, queueName) {
		f, err := queue.Open(s.cfg.Layout.Path(queueName, id), false)
		if !errors.Is(err, fs.ErrNotExist) {
			return f, err
		}
	}
	_, path, err := s.cfg.Layout.Find(id)
	if err != nil {
		return nil, err
	}
	return queue.Open(path, false)
}

// join pairs each log record with its envelope recipient, found by the
// offset of its record or else by its addresses, to learn its DSN NOTIFY
// and ORCPT. A recipient logged more than once (a defer log gets a record
// per attempt) is reported once, with its last record, in the order of
// its first.
func join(env *queue.Envelope, recs []queue.LogRecord) []rcptStatus {
	byOffset := make(map[int64]int, len(env.Recipients))
	for i, r := range env.Recipients {
		byOffset[r.Offset] = i
	}
	type key struct {
		off        int64
		addr, orig string
	}
	seen := make(map[key]int, len(recs))
	out := make([]rcptStatus, 0, len(recs))
	for _, rec := range recs {
		if rec.Recipient == "" {
			continue
		}
		rs := rcptStatus{
			Addr: rec.Recipient, Orig: rec.Orig,
			Status: rec.Status, Action: rec.Action, Reason: rec.Reason,
			RemoteMTA: rec.RemoteMTA, DiagType: rec.DiagType, Diag: rec.Diag,
		}
		if er := findRecipient(env, byOffset, &rec); er != nil {
			rs.Notify, rs.ORCPT, rs.Done = er.Notify, er.ORCPT, er.Done
			if rs.Orig == "" {
				rs.Orig = er.Orig
			}
		}
		k := key{rec.Offset, rec.Recipient, rec.Orig}
		if i, ok := seen[k]; ok {
			out[i] = rs
			continue
		}
		seen[k] = len(out)
		out = append(out, rs)
	}
	return out
}

func findRecipient(env *queue.Envelope, byOffset map[int64]int, rec *queue.LogRecord) *queue.Recipient {
	if i, ok := byOffset[rec.Offset]; ok && rec.Offset > 0 {
		if r := &env.Recipients[i]; r.Addr == rec.Recipient {
			return r
		}
	}
	for i := range env.Recipients {
		r := &env.Recipients[i]
		if r.Addr == rec.Recipient && (rec.Orig == "" || r.Orig == rec.Orig || r.Orig == "") {
			return r
		}
	}
	return nil
}

// wants reports whether a recipient's DSN NOTIFY asks for a report of
// kind what (SUCCESS, DELAY or FAILURE). No NOTIFY means DELAY,FAILURE.
func wants(notify, what string) bool {
	if notify == "" {
		return what != "SUCCESS"
	}
	for _, n := range strings.Split(notify, ",") {
		if strings.EqualFold(strings.TrimSpace(n), what) {
			return true
		}
	}
	return false
}

// filter returns the recipients keep accepts.
func filter(rcpts []rcptStatus, keep func(*rcptStatus) bool) []rcptStatus {
	var out []rcptStatus
	for i := range rcpts {
		if keep(&rcpts[i]) {
			out = append(out, rcpts[i])
		}
	}
	return out
}

// messageID returns the Message-Id of the original, with its angle
// brackets, from its header block; "" when it has none or a malformed
// one.
func messageID(msg io.Reader) string {
	br := bufio.NewReaderSize(msg, 4096)
	var field []byte // the current header field, unfolded
	for n := 0; n < maxReturnedHeaders; {
		line, size, long, err := readLine(br)
		n += size
		if size == 0 {
			break
		}
		if len(line) > 0 && (line[0] == ' ' || line[0] == '\t') {
			if long {
				field = field[:0] // too long to be a Message-Id
			} else if len(field) > 0 {
				field = append(field, line...)
			}
		} else {
			if id, ok := msgIDField(field); ok {
				return id
			}
			if len(line) == 0 || !isHeaderLine(line) {
				return ""
			}
			field = field[:0]
			if !long {
				field = append(field, line...)
			}
		}
		if err != nil {
			break
		}
	}
	id, _ := msgIDField(field)
	return id
}

// readLine reads one line and returns it without its line end (only the
// first bufio buffer of a longer line, with long set), and the bytes it
// consumed.
func readLine(br *bufio.Reader) (line []byte, size int, long bool, err error) {
	line, err = br.ReadSlice('\n')
	size = len(line)
	if err == bufio.ErrBufferFull {
		long = true
		line = append([]byte(nil), line...) // the reads below reuse the buffer
	}
	for err == bufio.ErrBufferFull {
		var more []byte
		more, err = br.ReadSlice('\n')
		size += len(more)
	}
	return bytes.TrimRight(line, "\r\n"), size, long, err
}

// msgIDField parses field as a Message-Id header field; ok says it is
// one, id is its value when well formed.
func msgIDField(field []byte) (id string, ok bool) {
	name, value, found := bytes.Cut(field, []byte(":"))
	if !found || !strings.EqualFold(string(bytes.TrimSpace(name)), "message-id") {
		return "", false
	}
	v := strings.TrimSpace(string(value))
	if len(v) > 2 && len(v) <= 998 && v[0] == '<' && v[len(v)-1] == '>' && !strings.ContainsAny(v, " \t") {
		return clean(v), true
	}
	return "", true
}

// logQueueOf maps proto's log names to the queue's log directories.
func logQueueOf(log string) (string, bool) {
	switch log {
	case proto.LogBounce:
		return queue.Bounce, true
	case proto.LogDefer:
		return queue.Defer, true
	case proto.LogTrace:
		return queue.Trace, true
	}
	return "", false
}
