package proto

import (
	"github.com/postern-mta/postern/internal/dsn"
)

// A fast path for the JSON of the hot messages.
//
// Why: the load benchmarks (issues 4 and 5) are CPU-bound, and perf put
// encoding/json at about 10 % of all of Postern's CPU per message, nearly
// all of it on the messages of every mail: CleanupOpen and CleanupResult
// (smtpd ↔ cleanup), DeliverRequest and DeliverReply (qmgr ↔ agents).
// Reflection, per-field allocations and the validating pre-scan are what
// cost; these types are few and fixed, so they get encoders and decoders
// written by hand.
//
// The rule: the wire format is encoding/json's. appendJSON writes, byte for
// byte, what json.Marshal writes for the same value (field order,
// omitempty/omitzero, string escaping, times); decodeJSON either gives
// exactly what json.Unmarshal gives into a zero value, or gives up with
// errSlowPath, and Conn.Recv then calls json.Unmarshal. A peer that uses
// plain encoding/json cannot tell the difference, so this needs no
// protocol version. The tests (fastjson_test.go) compare both paths on
// many values and the fuzz tests on any input; a change to one of these
// types must change its methods here too, or those tests fail.

// fastMessage is a message with a hand-written JSON encoder and decoder.
type fastMessage interface {
	// appendJSON appends the message's JSON to b. errSlowPath: a value
	// json.Marshal must handle (a time it cannot encode).
	appendJSON(b []byte) ([]byte, error)
	// decodeJSON sets the message to p decoded into a zero value. On
	// errSlowPath the message is left zero, for json.Unmarshal.
	decodeJSON(p []byte) error
}

var (
	_ fastMessage = (*CleanupOpen)(nil)
	_ fastMessage = (*CleanupResult)(nil)
	_ fastMessage = (*DeliverRequest)(nil)
	_ fastMessage = (*DeliverReply)(nil)
)

// appendFast appends v's JSON to b if v is a hot message, as a pointer or
// a value. ok is false for other messages and for those json.Marshal must
// encode.
func appendFast(b []byte, v any) (_ []byte, ok bool) {
	var err error
	switch m := v.(type) {
	case fastMessage:
		b, err = m.appendJSON(b)
	case CleanupOpen:
		b, err = m.appendJSON(b)
	case CleanupResult:
		b, err = m.appendJSON(b)
	case DeliverRequest:
		b, err = m.appendJSON(b)
	case DeliverReply:
		b, err = m.appendJSON(b)
	default:
		return b, false
	}
	return b, err == nil
}

// done checks the end of the message and reports whether the whole of it
// was read.
func (r *reader) done() bool {
	r.end()
	return !r.bad
}

// CleanupOpen

func (o *CleanupOpen) appendJSON(b []byte) ([]byte, error) {
	if o == nil {
		return append(b, "null"...), nil
	}
	b = append(b, '{')
	b = appendStringField(b, "source", o.Source, true)
	if o.Flags != 0 {
		b = appendIntField(b, "flags", int64(o.Flags), false)
	}
	b = appendStringField(b, "sender", o.Sender, false)
	if o.FullName != "" {
		b = appendStringField(b, "full_name", o.FullName, false)
	}
	b = appendKey(b, "rcpts", false)
	b = appendSlice(b, o.Recipients)
	if o.DSNRet != "" {
		b = appendStringField(b, "dsn_ret", o.DSNRet, false)
	}
	if o.DSNEnvID != "" {
		b = appendStringField(b, "dsn_envid", o.DSNEnvID, false)
	}
	if !o.Arrival.IsZero() {
		var ok bool
		if b, ok = appendTime(appendKey(b, "arrival", false), o.Arrival); !ok {
			return b, errSlowPath
		}
	}
	if len(o.Attrs) > 0 {
		b = appendKey(b, "attrs", false)
		b = appendSlice(b, o.Attrs)
	}
	if o.Queue != "" {
		b = appendStringField(b, "queue", o.Queue, false)
	}
	if o.Reserve {
		b = appendTrueField(b, "reserve")
	}
	if o.Reserved != "" {
		b = appendStringField(b, "reserved", o.Reserved, false)
	}
	return append(b, '}'), nil
}

var cleanupOpenNames = []string{"source", "flags", "sender", "full_name", "rcpts", "dsn_ret", "dsn_envid", "arrival", "attrs", "queue", "reserve", "reserved"}

// Each type's decodeJSON is the same few lines. A generic helper taking
// the read method as a value would make the reader and its scratch buffer
// escape to the heap: two more allocations per message (measured with
// BenchmarkHotMessages).
func (o *CleanupOpen) decodeJSON(p []byte) error {
	if o == nil {
		return errSlowPath
	}
	*o = CleanupOpen{}
	var scratch [256]byte // for strings with escapes
	r := reader{p: p, buf: scratch[:0]}
	if o.read(&r); !r.done() {
		*o = CleanupOpen{}
		return errSlowPath
	}
	return nil
}

func (o *CleanupOpen) read(r *reader) {
	if !r.open('{') {
		return
	}
	var seen uint32
	for n := 0; r.more('}', n); n++ {
		switch k := r.key(); string(k) {
		case "source":
			r.once(&seen, 1<<0)
			r.str(&o.Source)
		case "flags":
			r.once(&seen, 1<<1)
			r.uint32(&o.Flags)
		case "sender":
			r.once(&seen, 1<<2)
			r.str(&o.Sender)
		case "full_name":
			r.once(&seen, 1<<3)
			r.str(&o.FullName)
		case "rcpts":
			r.once(&seen, 1<<4)
			readRcpts(r, &o.Recipients)
		case "dsn_ret":
			r.once(&seen, 1<<5)
			r.str(&o.DSNRet)
		case "dsn_envid":
			r.once(&seen, 1<<6)
			r.str(&o.DSNEnvID)
		case "arrival":
			r.once(&seen, 1<<7)
			r.time(&o.Arrival)
		case "attrs":
			r.once(&seen, 1<<8)
			readAttrs(r, &o.Attrs)
		case "queue":
			r.once(&seen, 1<<9)
			r.str(&o.Queue)
		case "reserve":
			r.once(&seen, 1<<10)
			r.bool(&o.Reserve)
		case "reserved":
			r.once(&seen, 1<<11)
			r.str(&o.Reserved)
		default:
			r.unknown(k, cleanupOpenNames)
		}
	}
}

// Rcpt

func (x *Rcpt) appendJSON(b []byte) []byte {
	b = append(b, '{')
	b = appendStringField(b, "addr", x.Addr, true)
	if x.Orig != "" {
		b = appendStringField(b, "orig", x.Orig, false)
	}
	if x.Notify != "" {
		b = appendStringField(b, "notify", x.Notify, false)
	}
	if x.ORCPT != "" {
		b = appendStringField(b, "orcpt", x.ORCPT, false)
	}
	return append(b, '}')
}

var rcptNames = []string{"addr", "orig", "notify", "orcpt"}

func (x *Rcpt) read(r *reader) {
	if !r.open('{') {
		return
	}
	var seen uint32
	for n := 0; r.more('}', n); n++ {
		switch k := r.key(); string(k) {
		case "addr":
			r.once(&seen, 1<<0)
			r.str(&x.Addr)
		case "orig":
			r.once(&seen, 1<<1)
			r.str(&x.Orig)
		case "notify":
			r.once(&seen, 1<<2)
			r.str(&x.Notify)
		case "orcpt":
			r.once(&seen, 1<<3)
			r.str(&x.ORCPT)
		default:
			r.unknown(k, rcptNames)
		}
	}
}

// Attr

func (a *Attr) appendJSON(b []byte) []byte {
	b = append(b, '{')
	b = appendStringField(b, "n", a.Name, true)
	b = appendStringField(b, "v", a.Value, false)
	return append(b, '}')
}

var attrNames = []string{"n", "v"}

func (a *Attr) read(r *reader) {
	if !r.open('{') {
		return
	}
	var seen uint32
	for n := 0; r.more('}', n); n++ {
		switch k := r.key(); string(k) {
		case "n":
			r.once(&seen, 1<<0)
			r.str(&a.Name)
		case "v":
			r.once(&seen, 1<<1)
			r.str(&a.Value)
		default:
			r.unknown(k, attrNames)
		}
	}
}

func readRcpts(r *reader, dst *[]Rcpt) {
	if !r.open('[') {
		return
	}
	s := []Rcpt{} // [] is an empty slice, not nil, as with encoding/json
	for n := 0; r.more(']', n); n++ {
		s = append(s, Rcpt{})
		s[n].read(r)
	}
	*dst = s
}

func readAttrs(r *reader, dst *[]Attr) {
	if !r.open('[') {
		return
	}
	s := []Attr{}
	for n := 0; r.more(']', n); n++ {
		if n == 0 {
			s = make([]Attr, 0, 8) // what a receiver usually sends
		}
		s = append(s, Attr{})
		s[n].read(r)
	}
	*dst = s
}

// appendSlice appends a JSON array, or null for a nil slice.
func appendSlice[T any, PT interface {
	*T
	appendJSON([]byte) []byte
}](b []byte, s []T) []byte {
	if s == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i := range s {
		if i > 0 {
			b = append(b, ',')
		}
		b = PT(&s[i]).appendJSON(b)
	}
	return append(b, ']')
}

// dsn.Status

func appendStatus(b []byte, s *dsn.Status) []byte {
	if s == nil {
		return append(b, "null"...)
	}
	b = append(b, '{')
	first := true
	if s.Code != 0 {
		b = appendIntField(b, "code", int64(s.Code), true)
		first = false
	}
	b = appendStringField(b, "dsn", s.Enhanced, first)
	b = appendStringField(b, "text", s.Text, false)
	return append(b, '}')
}

var statusNames = []string{"code", "dsn", "text"}

// readStatus reads a status; as with encoding/json, {} gives a zero
// Status, not nil. Cause is not on the wire: a "Cause" key is unknown.
func readStatus(r *reader, dst **dsn.Status) {
	if !r.open('{') {
		return
	}
	s := new(dsn.Status)
	var seen uint32
	for n := 0; r.more('}', n); n++ {
		switch k := r.key(); string(k) {
		case "code":
			r.once(&seen, 1<<0)
			r.intField(&s.Code)
		case "dsn":
			r.once(&seen, 1<<1)
			r.str(&s.Enhanced)
		case "text":
			r.once(&seen, 1<<2)
			r.str(&s.Text)
		default:
			r.unknown(k, statusNames)
		}
	}
	*dst = s
}

// CleanupResult

func (o *CleanupResult) appendJSON(b []byte) ([]byte, error) {
	if o == nil {
		return append(b, "null"...), nil
	}
	b = append(b, '{')
	b = appendStringField(b, "queue_id", o.QueueID, true)
	if o.Status != nil {
		b = appendStatus(appendKey(b, "status", false), o.Status)
	}
	if o.Held {
		b = appendTrueField(b, "held")
	}
	if o.Discarded {
		b = appendTrueField(b, "discarded")
	}
	if o.Bounced {
		b = appendTrueField(b, "bounced")
	}
	if o.Next != "" {
		b = appendStringField(b, "next", o.Next, false)
	}
	return append(b, '}'), nil
}

var cleanupResultNames = []string{"queue_id", "status", "held", "discarded", "bounced", "next"}

func (o *CleanupResult) decodeJSON(p []byte) error {
	if o == nil {
		return errSlowPath
	}
	*o = CleanupResult{}
	var scratch [256]byte // for strings with escapes
	r := reader{p: p, buf: scratch[:0]}
	if o.read(&r); !r.done() {
		*o = CleanupResult{}
		return errSlowPath
	}
	return nil
}

func (o *CleanupResult) read(r *reader) {
	if !r.open('{') {
		return
	}
	var seen uint32
	for n := 0; r.more('}', n); n++ {
		switch k := r.key(); string(k) {
		case "queue_id":
			r.once(&seen, 1<<0)
			r.str(&o.QueueID)
		case "status":
			r.once(&seen, 1<<1)
			readStatus(r, &o.Status)
		case "held":
			r.once(&seen, 1<<2)
			r.bool(&o.Held)
		case "discarded":
			r.once(&seen, 1<<3)
			r.bool(&o.Discarded)
		case "bounced":
			r.once(&seen, 1<<4)
			r.bool(&o.Bounced)
		case "next":
			r.once(&seen, 1<<5)
			r.str(&o.Next)
		default:
			r.unknown(k, cleanupResultNames)
		}
	}
}
