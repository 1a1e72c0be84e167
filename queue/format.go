package queue

// This file is the whole queue file format: record types, encoding,
// decoding, and the text form postcat prints. The package documentation
// (doc.go, "File format") is its specification; keep the two in step.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// RecordType is the type byte of a queue file record.
type RecordType byte

// Record types, in the order they appear in a file.
const (
	RecSize     RecordType = 'C' // fixed width: content length, content offset, recipient count, flags
	RecTime     RecordType = 'T' // arrival time: "seconds microseconds"
	RecFullName RecordType = 'F' // sender full name
	RecSender   RecordType = 'S' // envelope sender, empty for the null sender
	RecAttr     RecordType = 'A' // named attribute: "name=value"
	RecDSNRet   RecordType = '<' // DSN RET: FULL or HDRS
	RecDSNEnvID RecordType = 'i' // DSN ENVID
	RecWarn     RecordType = 'W' // delay warning time: "seconds"
	RecContent  RecordType = 'M' // the message content, one raw block
	RecOrig     RecordType = 'O' // original recipient of the next R/D record
	RecORCPT    RecordType = 'o' // DSN ORCPT of the next R/D record
	RecNotify   RecordType = 'n' // DSN NOTIFY of the next R/D record
	RecRcpt     RecordType = 'R' // recipient still to deliver
	RecDone     RecordType = 'D' // recipient done: R rewritten in place
	RecEnd      RecordType = 'E' // end of file, empty
)

const (
	sizeFieldWidth = 15
	sizeDataLen    = 4*(sizeFieldWidth+1) - 1               // four fields, three blanks
	sizeRecLen     = 2 + sizeDataLen                        // type byte, one length byte, data
	flagsOffset    = 2 + 3*(sizeFieldWidth+1)               // the flags field, rewritten in place
	contentLenLen  = 5                                      // bytes of the content record's padded length
	maxContentLen  = 1<<(7*contentLenLen) - 1               // what a padded length can hold (32 GiB)
	minContentOff  = sizeRecLen + 5 + 2 + 1 + contentLenLen // C, the shortest T and S, M

	// Limits on what a reader accepts (and a writer writes).
	maxRecordLen = 64 << 10 // one envelope or recipient record
	maxHeadLen   = 1 << 20  // everything before the content
	maxTailLen   = 64 << 20 // everything after it: recipients and the end record
)

// ErrCorrupt is wrapped by every error about a malformed or incomplete
// queue file (errors.Is), so that callers can move the file to corrupt/.
var ErrCorrupt = errors.New("corrupt queue file")

// formatError is a malformed or incomplete queue file.
type formatError struct {
	path string
	off  int64
	msg  string
}

func (e *formatError) Error() string {
	return fmt.Sprintf("queue file %s: %s (offset %d)", e.path, e.msg, e.off)
}

func (e *formatError) Is(target error) bool { return target == ErrCorrupt }

// truncated reports whether the file seemed to end too early.
func (e *formatError) truncated() bool { return strings.HasPrefix(e.msg, "truncated") }

// Record is one record of a queue file. Data of the content record is
// nil: the content is read through File.Content.
type Record struct {
	Offset int64      // where the type byte is
	Type   RecordType //
	Data   []byte     // the record's value
}

var recordNames = map[RecordType]string{
	RecSize:     "message_size",
	RecTime:     "message_arrival_time",
	RecFullName: "sender_fullname",
	RecSender:   "sender",
	RecAttr:     "named_attribute",
	RecDSNRet:   "dsn_ret_flags",
	RecDSNEnvID: "dsn_envelope_id",
	RecWarn:     "warning_message_time",
	RecContent:  "message_content",
	RecOrig:     "original_recipient",
	RecORCPT:    "dsn_original_recipient",
	RecNotify:   "dsn_notify_flags",
	RecRcpt:     "recipient",
	RecDone:     "done_recipient",
	RecEnd:      "message_end",
}

// Name is the record type's name as postcat prints it ("sender",
// "done_recipient", …), or "unknown_record_type_X".
func (t RecordType) Name() string {
	if n, ok := recordNames[t]; ok {
		return n
	}
	return "unknown_record_type_" + strconv.QuoteRune(rune(t))
}

// asctime is the layout of C's asctime(3), which postcat uses for times.
const asctime = "Mon Jan _2 15:04:05 2006"

// Format returns the record as postcat prints it, "name: value", with
// times in loc and control characters escaped.
func (r Record) Format(loc *time.Location) string {
	value := printable(r.Data)
	switch r.Type {
	case RecTime:
		if t, err := parseTime(r.Data); err == nil {
			value = t.In(loc).Format(asctime)
		}
	case RecWarn:
		if t, err := parseSeconds(r.Data); err == nil {
			value = t.In(loc).Format(asctime)
		}
	}
	return r.Type.Name() + ": " + value
}

// String is Format in the local time zone.
func (r Record) String() string { return r.Format(time.Local) }

// printable escapes control characters so that a queue file cannot drive
// the terminal of the administrator reading it.
func printable(b []byte) string {
	var s strings.Builder
	for _, c := range b {
		if c < 0x20 || c == 0x7f {
			fmt.Fprintf(&s, `\x%02x`, c)
		} else {
			s.WriteByte(c)
		}
	}
	return s.String()
}

// ---- Encoding ----

func appendRecord(b []byte, t RecordType, data string) []byte {
	b = append(b, byte(t))
	b = binary.AppendUvarint(b, uint64(len(data)))
	return append(b, data...)
}

// putSize writes the size record into b[:sizeRecLen].
func putSize(b []byte, contentLen, contentOff int64, nrcpt int, flags uint32) {
	s := fmt.Sprintf("%*d %*d %*d %*d", sizeFieldWidth, contentLen, sizeFieldWidth,
		contentOff, sizeFieldWidth, nrcpt, sizeFieldWidth, flags)
	b[0] = byte(RecSize)
	b[1] = sizeDataLen
	copy(b[2:sizeRecLen], s)
}

// putContentLen writes n as a varint padded to contentLenLen bytes, so
// that the length can be filled in after the content was streamed.
func putContentLen(b []byte, n int64) {
	for i := 0; i < contentLenLen-1; i++ {
		b[i] = byte(n&0x7f) | 0x80
		n >>= 7
	}
	b[contentLenLen-1] = byte(n & 0x7f)
}

// encodeHead returns the records before the content: the size record (its
// content length and recipient count still zero), the envelope, and the
// content record's type and padded length (zero).
func encodeHead(b []byte, e *Envelope, arrival time.Time) ([]byte, error) {
	b = append(b, make([]byte, sizeRecLen)...)
	if !e.Arrival.IsZero() {
		arrival = e.Arrival
	}
	add := func(t RecordType, v string) error {
		if len(v) > maxRecordLen {
			return fmt.Errorf("%s record of %d bytes exceeds the limit of %d", t.Name(), len(v), maxRecordLen)
		}
		b = appendRecord(b, t, v)
		return nil
	}
	var errs []error
	errs = append(errs, add(RecTime, formatTime(arrival)))
	if e.FullName != "" {
		errs = append(errs, add(RecFullName, e.FullName))
	}
	errs = append(errs, add(RecSender, e.Sender))
	for _, a := range e.Attrs {
		if a.Name == "" || strings.IndexByte(a.Name, '=') >= 0 {
			errs = append(errs, fmt.Errorf("bad attribute name %q", a.Name))
		}
		errs = append(errs, add(RecAttr, a.Name+"="+a.Value))
	}
	if e.DSNRet != "" {
		errs = append(errs, add(RecDSNRet, e.DSNRet))
	}
	if e.DSNEnvID != "" {
		errs = append(errs, add(RecDSNEnvID, e.DSNEnvID))
	}
	if !e.WarnTime.IsZero() {
		errs = append(errs, add(RecWarn, strconv.FormatInt(e.WarnTime.Unix(), 10)))
	}
	if err := errors.Join(errs...); err != nil {
		return b, err
	}
	b = append(b, byte(RecContent))
	b = append(b, make([]byte, contentLenLen)...)
	if len(b) > maxHeadLen {
		return b, fmt.Errorf("envelope of %d bytes exceeds the limit of %d", len(b), maxHeadLen)
	}
	putSize(b, 0, int64(len(b)), 0, e.Flags)
	putContentLen(b[len(b)-contentLenLen:], 0)
	return b, nil
}

// appendRecipient appends the records of one recipient.
func appendRecipient(b []byte, r *Recipient) ([]byte, error) {
	for _, v := range []string{r.Addr, r.Orig, r.ORCPT, r.Notify} {
		if len(v) > maxRecordLen {
			return b, fmt.Errorf("recipient record of %d bytes exceeds the limit of %d", len(v), maxRecordLen)
		}
	}
	if r.Orig != "" {
		b = appendRecord(b, RecOrig, r.Orig)
	}
	if r.ORCPT != "" {
		b = appendRecord(b, RecORCPT, r.ORCPT)
	}
	if r.Notify != "" {
		b = appendRecord(b, RecNotify, r.Notify)
	}
	t := RecRcpt
	if r.Done {
		t = RecDone
	}
	return appendRecord(b, t, r.Addr), nil
}

func formatTime(t time.Time) string {
	return strconv.FormatInt(t.Unix(), 10) + " " + strconv.Itoa(t.Nanosecond()/1000)
}

// ---- Decoding ----

// sizeInfo is what the size record says.
type sizeInfo struct {
	contentLen int64
	contentOff int64
	nrcpt      int
	flags      uint32
}

func parseSize(data []byte) (sizeInfo, error) {
	var v [4]uint64
	for i := range v {
		f := data[i*(sizeFieldWidth+1) : i*(sizeFieldWidth+1)+sizeFieldWidth]
		if i < 3 && data[(i+1)*(sizeFieldWidth+1)-1] != ' ' {
			return sizeInfo{}, errors.New("malformed size record")
		}
		n, err := strconv.ParseUint(strings.TrimLeft(string(f), " "), 10, 64)
		if err != nil {
			return sizeInfo{}, fmt.Errorf("malformed size record: field %d: %q", i+1, f)
		}
		v[i] = n
	}
	if v[0] > maxContentLen || v[1] > maxHeadLen || v[1] < minContentOff || v[3] > 1<<32-1 {
		return sizeInfo{}, fmt.Errorf("size record out of range: %q", data)
	}
	return sizeInfo{int64(v[0]), int64(v[1]), int(min(v[2], 1<<31)), uint32(v[3])}, nil
}

func parseTime(data []byte) (time.Time, error) {
	sec, usec, ok := strings.Cut(string(data), " ")
	s, err1 := strconv.ParseInt(sec, 10, 64)
	u, err2 := strconv.ParseInt(usec, 10, 64)
	if !ok || err1 != nil || err2 != nil || u < 0 || u >= 1000000 {
		return time.Time{}, fmt.Errorf("malformed time %q", data)
	}
	return time.Unix(s, u*1000), nil
}

func parseSeconds(data []byte) (time.Time, error) {
	s, err := strconv.ParseInt(string(data), 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("malformed time %q", data)
	}
	return time.Unix(s, 0), nil
}

// Which records may appear where. Types in neither set are skipped, so a
// newer writer's additions do not make an older reader call a file corrupt.
func headType(t RecordType) bool {
	switch t {
	case RecTime, RecFullName, RecSender, RecAttr, RecDSNRet, RecDSNEnvID, RecWarn:
		return true
	}
	return false
}

func tailType(t RecordType) bool {
	switch t {
	case RecOrig, RecORCPT, RecNotify, RecRcpt, RecDone:
		return true
	}
	return false
}

// recordHeader decodes the type and length of the record at b[pos:]. It
// returns where the data starts; ok is false when b ends inside the
// header.
func recordHeader(b []byte, pos int) (t RecordType, start int, n uint64, ok bool, err error) {
	if pos >= len(b) {
		return 0, 0, 0, false, nil
	}
	n, k := binary.Uvarint(b[pos+1:])
	switch {
	case k == 0:
		return 0, 0, 0, false, nil
	case k < 0:
		return 0, 0, 0, false, errors.New("malformed record length")
	}
	return RecordType(b[pos]), pos + 1 + k, n, true, nil
}

// readOnce reads into b at off with one read where r allows it (a queue
// file's descriptor): fewer bytes than len(b) mean the end of the file.
// The file's size is never asked for: the short read that ends the
// reading tells where the file ends.
func readOnce(r io.ReaderAt, b []byte, off int64) (int, error) {
	if f, ok := r.(*fdFile); ok {
		return f.pread(b, off)
	}
	n, err := r.ReadAt(b, off)
	if err == io.EOF {
		err = nil
	}
	return n, err
}

// confirmEnd returns corrupt, an error about a file that seems to end at
// off, once a read there confirms the end. A read can be short for other
// reasons (an I/O error after part of the data, some network file
// systems); those are errors to try again later, not a corrupt file.
func confirmEnd(r io.ReaderAt, off int64, path string, corrupt error) error {
	var b [1]byte
	n, err := readOnce(r, b[:], off)
	switch {
	case err != nil:
		return fmt.Errorf("read queue file %s: %w", path, err)
	case n > 0:
		return fmt.Errorf("read queue file %s: short read at offset %d", path, off)
	}
	return corrupt
}

// scanned is what scan learned besides the records.
type scanned struct {
	sizeInfo
	whole int // the file's length when buf holds all of it; -1 if not
}

// scan reads the queue file r and calls fn for every record in file
// order, the content record without its data. Record data alias buf (or
// a larger buffer) and are valid only during the call. It checks the
// framing: the size record, the content where the size record says, and
// the end record exactly at the end of the file.
//
// A file that fits in buf is read with one read; a larger one with two,
// its head and its tail (more only for a head or tail larger than buf),
// never its content.
func scan(r io.ReaderAt, path string, buf []byte, fn func(Record) error) (scanned, error) {
	res := scanned{whole: -1}
	n, err := readOnce(r, buf, 0)
	if err != nil {
		return res, fmt.Errorf("read queue file %s: %w", path, err)
	}
	end := int64(-1) // where the file ends, once a short read has said so
	if n < len(buf) {
		end = int64(n)
	}
	switch {
	case n == 0:
		return res, &formatError{path, 0, "truncated: empty file"}
	case n < sizeRecLen:
		return res, confirmEnd(r, end, path, &formatError{path, end, "truncated: shorter than the size record"})
	}
	if RecordType(buf[0]) != RecSize || buf[1] != sizeDataLen {
		return res, &formatError{path, 0, "not a queue file: no size record"}
	}
	si, err := parseSize(buf[2:sizeRecLen])
	if err != nil {
		return res, &formatError{path, 0, err.Error()}
	}
	res.sizeInfo = si
	co, cl := si.contentOff, si.contentLen
	if end >= 0 && co+cl > end {
		return res, confirmEnd(r, end, path, contentPastEnd(path, end, co+cl))
	}
	head := buf[:n]
	if int64(n) < co {
		head = make([]byte, co)
		copy(head, buf[:n])
		if k, err := r.ReadAt(head[n:], int64(n)); k < len(head)-n {
			if err != nil && err != io.EOF {
				return res, fmt.Errorf("read queue file %s: %w", path, err)
			}
			return res, contentPastEnd(path, int64(n+k), co+cl)
		}
	}
	if err := scanHead(head[:co], si, path, fn); err != nil {
		return res, err
	}

	tailOff := co + cl
	var tail []byte
	if end >= 0 {
		tail = buf[tailOff:end]
		res.whole = n
	} else if tail, end, err = readTail(r, buf, tailOff, path); err != nil {
		return res, err
	}
	err = scanTail(tail, tailOff, path, fn)
	if fe := (*formatError)(nil); errors.As(err, &fe) && fe.truncated() {
		err = confirmEnd(r, end, path, err)
	}
	return res, err
}

func contentPastEnd(path string, end, contentEnd int64) error {
	return &formatError{path, end, fmt.Sprintf("truncated: content ends at offset %d, after the end of the file", contentEnd)}
}

// readTail reads the file from the end of the content to the end of the
// file, into buf and then into larger buffers as long as reads fill them.
// It starts one byte early, inside the content, so that a read returning
// nothing means the content runs past the end of the file. It returns the
// tail and where the file ends.
func readTail(r io.ReaderAt, buf []byte, tailOff int64, path string) ([]byte, int64, error) {
	b, n := buf, 0
	for {
		k, err := readOnce(r, b[n:], tailOff-1+int64(n))
		if err != nil {
			return nil, 0, fmt.Errorf("read queue file %s: %w", path, err)
		}
		n += k
		switch {
		case n == 0:
			return nil, 0, contentPastEnd(path, tailOff-1, tailOff)
		case n-1 > maxTailLen:
			return nil, 0, &formatError{path, tailOff, fmt.Sprintf("recipient section exceeds the limit of %d bytes", maxTailLen)}
		case n < len(b):
			return b[1:n], tailOff - 1 + int64(n), nil
		}
		nb := make([]byte, min(2*len(b), maxTailLen+2))
		copy(nb, b)
		b = nb
	}
}

// scanHead walks the records from the size record to the content record,
// which must end exactly at the content offset.
func scanHead(head []byte, si sizeInfo, path string, fn func(Record) error) error {
	bad := func(off int, format string, args ...any) error {
		return &formatError{path, int64(off), fmt.Sprintf(format, args...)}
	}
	if err := fn(Record{0, RecSize, head[2:sizeRecLen]}); err != nil {
		return err
	}
	for pos := sizeRecLen; ; {
		t, start, dlen, ok, err := recordHeader(head, pos)
		switch {
		case err != nil:
			return bad(pos, "%v", err)
		case !ok:
			return bad(pos, "no content record before the content offset %d", si.contentOff)
		case t == RecContent:
			if int64(start) != si.contentOff || int64(dlen) != si.contentLen {
				return bad(pos, "content record (length %d, data at %d) disagrees with the size record", dlen, start)
			}
			return fn(Record{int64(pos), t, nil})
		case t == RecSize || t == RecEnd || tailType(t):
			return bad(pos, "%s record before the content", t.Name())
		case dlen > maxRecordLen:
			return bad(pos, "%s record of %d bytes exceeds the limit of %d", t.Name(), dlen, maxRecordLen)
		case uint64(start)+dlen > uint64(len(head)):
			return bad(pos, "%s record runs into the content", t.Name())
		}
		if err := fn(Record{int64(pos), t, head[start : start+int(dlen)]}); err != nil {
			return err
		}
		pos = start + int(dlen)
	}
}

// scanTail walks the records after the content, up to the end record,
// which must be the last bytes of the file.
func scanTail(tail []byte, tailOff int64, path string, fn func(Record) error) error {
	for pos := 0; ; {
		t, start, dlen, ok, err := recordHeader(tail, pos)
		off := tailOff + int64(pos)
		bad := func(format string, args ...any) error {
			return &formatError{path, off, fmt.Sprintf(format, args...)}
		}
		switch {
		case err != nil:
			return bad("%v", err)
		case !ok && pos == len(tail):
			return bad("truncated: no end record")
		case !ok:
			return bad("truncated: record header runs past the end of the file")
		case dlen > maxRecordLen:
			return bad("%s record of %d bytes exceeds the limit of %d", t.Name(), dlen, maxRecordLen)
		case uint64(start)+dlen > uint64(len(tail)):
			return bad("truncated: %s record runs past the end of the file", t.Name())
		case t == RecEnd:
			if dlen != 0 || start != len(tail) {
				return bad("data after the end record")
			}
			return fn(Record{off, t, nil})
		case t == RecSize || t == RecContent || headType(t):
			return bad("%s record after the content", t.Name())
		}
		if err := fn(Record{off, t, tail[start : start+int(dlen)]}); err != nil {
			return err
		}
		pos = start + int(dlen)
	}
}

// envelopeDecoder builds an Envelope from records in file order and checks
// what framing cannot: required records, values, recipient groups.
type envelopeDecoder struct {
	path             string
	env              Envelope
	haveTime, haveS  bool
	pending          Recipient
	havePending      bool
	sizeRecord       sizeInfo
	contentRecordOff int64
}

func (d *envelopeDecoder) record(r Record) error {
	bad := func(format string, args ...any) error {
		return &formatError{d.path, r.Offset, fmt.Sprintf(format, args...)}
	}
	s := string(r.Data)
	switch r.Type {
	case RecSize:
		si, _ := parseSize(r.Data) // checked by scan
		d.sizeRecord = si
		d.env.Flags = si.flags
	case RecTime:
		t, err := parseTime(r.Data)
		if err != nil {
			return bad("%v", err)
		}
		d.env.Arrival, d.haveTime = t, true
	case RecFullName:
		d.env.FullName = s
	case RecSender:
		d.env.Sender, d.haveS = s, true
	case RecAttr:
		name, value, ok := strings.Cut(s, "=")
		if !ok || name == "" {
			return bad("malformed attribute %q", printable(r.Data))
		}
		d.env.Attrs = append(d.env.Attrs, Attr{name, value})
	case RecDSNRet:
		d.env.DSNRet = s
	case RecDSNEnvID:
		d.env.DSNEnvID = s
	case RecWarn:
		t, err := parseSeconds(r.Data)
		if err != nil {
			return bad("%v", err)
		}
		d.env.WarnTime = t
	case RecContent:
		if !d.haveTime || !d.haveS {
			return bad("no arrival time or sender record")
		}
		d.contentRecordOff = r.Offset
	case RecOrig:
		d.pending.Orig, d.havePending = s, true
	case RecORCPT:
		d.pending.ORCPT, d.havePending = s, true
	case RecNotify:
		d.pending.Notify, d.havePending = s, true
	case RecRcpt, RecDone:
		d.pending.Addr = s
		d.pending.Done = r.Type == RecDone
		d.pending.Offset = r.Offset
		d.env.Recipients = append(d.env.Recipients, d.pending)
		d.pending, d.havePending = Recipient{}, false
	case RecEnd:
		if d.havePending {
			return bad("recipient attributes without a recipient")
		}
		if len(d.env.Recipients) != d.sizeRecord.nrcpt {
			return bad("%d recipient records, the size record says %d", len(d.env.Recipients), d.sizeRecord.nrcpt)
		}
	}
	return nil
}
