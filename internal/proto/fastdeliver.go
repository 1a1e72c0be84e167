package proto

import "math"

// The fast JSON path (see fastjson.go) of the delivery messages.

// DeliverRequest

func (q *DeliverRequest) appendJSON(b []byte) ([]byte, error) {
	if q == nil {
		return append(b, "null"...), nil
	}
	b = append(b, '{')
	b = appendStringField(b, "queue", q.Queue, true)
	b = appendStringField(b, "queue_id", q.QueueID, false)
	b = appendStringField(b, "transport", q.Transport, false)
	b = appendStringField(b, "nexthop", q.Nexthop, false)
	b = appendStringField(b, "sender", q.Sender, false)
	b = appendKey(b, "rcpts", false)
	b = appendSlice(b, q.Recipients)
	var ok bool
	if b, ok = appendTime(appendKey(b, "arrival", false), q.Arrival); !ok {
		return b, errSlowPath
	}
	if b, ok = appendTime(appendKey(b, "active", false), q.Active); !ok {
		return b, errSlowPath
	}
	b = appendIntField(b, "size", q.Size, false)
	if q.DSNRet != "" {
		b = appendStringField(b, "dsn_ret", q.DSNRet, false)
	}
	if q.DSNEnvID != "" {
		b = appendStringField(b, "dsn_envid", q.DSNEnvID, false)
	}
	if len(q.Attrs) > 0 {
		b = appendKey(b, "attrs", false)
		b = appendSlice(b, q.Attrs)
	}
	if q.Flags != 0 {
		b = appendIntField(b, "flags", int64(q.Flags), false)
	}
	if q.ErrorText != "" {
		b = appendStringField(b, "error_text", q.ErrorText, false)
	}
	return append(b, '}'), nil
}

var deliverRequestNames = []string{"queue", "queue_id", "transport", "nexthop", "sender", "rcpts", "arrival", "active", "size", "dsn_ret", "dsn_envid", "attrs", "flags", "error_text"}

func (q *DeliverRequest) decodeJSON(p []byte) error {
	if q == nil {
		return errSlowPath
	}
	*q = DeliverRequest{}
	var scratch [256]byte // for strings with escapes
	r := reader{p: p, buf: scratch[:0]}
	if q.read(&r); !r.done() {
		*q = DeliverRequest{}
		return errSlowPath
	}
	return nil
}

func (q *DeliverRequest) read(r *reader) {
	if !r.open('{') {
		return
	}
	var seen uint32
	for n := 0; r.more('}', n); n++ {
		switch k := r.key(); string(k) {
		case "queue":
			r.once(&seen, 1<<0)
			r.str(&q.Queue)
		case "queue_id":
			r.once(&seen, 1<<1)
			r.str(&q.QueueID)
		case "transport":
			r.once(&seen, 1<<2)
			r.str(&q.Transport)
		case "nexthop":
			r.once(&seen, 1<<3)
			r.str(&q.Nexthop)
		case "sender":
			r.once(&seen, 1<<4)
			r.str(&q.Sender)
		case "rcpts":
			r.once(&seen, 1<<5)
			readDeliverRcpts(r, &q.Recipients)
		case "arrival":
			r.once(&seen, 1<<6)
			r.time(&q.Arrival)
		case "active":
			r.once(&seen, 1<<7)
			r.time(&q.Active)
		case "size":
			r.once(&seen, 1<<8)
			r.int64(&q.Size, math.MinInt64, math.MaxInt64)
		case "dsn_ret":
			r.once(&seen, 1<<9)
			r.str(&q.DSNRet)
		case "dsn_envid":
			r.once(&seen, 1<<10)
			r.str(&q.DSNEnvID)
		case "attrs":
			r.once(&seen, 1<<11)
			readAttrs(r, &q.Attrs)
		case "flags":
			r.once(&seen, 1<<12)
			r.uint32(&q.Flags)
		case "error_text":
			r.once(&seen, 1<<13)
			r.str(&q.ErrorText)
		default:
			r.unknown(k, deliverRequestNames)
		}
	}
}

// DeliverRcpt

func (x *DeliverRcpt) appendJSON(b []byte) []byte {
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
	b = appendIntField(b, "offset", x.Offset, false)
	return append(b, '}')
}

func readDeliverRcpts(r *reader, dst *[]DeliverRcpt) {
	if !r.open('[') {
		return
	}
	s := []DeliverRcpt{}
	for n := 0; r.more(']', n); n++ {
		s = append(s, DeliverRcpt{})
		s[n].read(r)
	}
	*dst = s
}

var deliverRcptNames = []string{"addr", "orig", "notify", "orcpt", "offset"}

func (x *DeliverRcpt) read(r *reader) {
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
		case "offset":
			r.once(&seen, 1<<4)
			r.int64(&x.Offset, math.MinInt64, math.MaxInt64)
		default:
			r.unknown(k, deliverRcptNames)
		}
	}
}

// DeliverReply

func (d *DeliverReply) appendJSON(b []byte) ([]byte, error) {
	if d == nil {
		return append(b, "null"...), nil
	}
	b = append(b, `{"results":`...)
	b = appendSlice(b, d.Results)
	if d.Status != nil {
		b = appendStatus(appendKey(b, "status", false), d.Status)
	}
	if d.DestinationDead {
		b = appendTrueField(b, "destination_dead")
	}
	return append(b, '}'), nil
}

var deliverReplyNames = []string{"results", "status", "destination_dead"}

func (d *DeliverReply) decodeJSON(p []byte) error {
	if d == nil {
		return errSlowPath
	}
	*d = DeliverReply{}
	var scratch [256]byte // for strings with escapes
	r := reader{p: p, buf: scratch[:0]}
	if d.read(&r); !r.done() {
		*d = DeliverReply{}
		return errSlowPath
	}
	return nil
}

func (d *DeliverReply) read(r *reader) {
	if !r.open('{') {
		return
	}
	var seen uint32
	for n := 0; r.more('}', n); n++ {
		switch k := r.key(); string(k) {
		case "results":
			r.once(&seen, 1<<0)
			readResults(r, &d.Results)
		case "status":
			r.once(&seen, 1<<1)
			readStatus(r, &d.Status)
		case "destination_dead":
			r.once(&seen, 1<<2)
			r.bool(&d.DestinationDead)
		default:
			r.unknown(k, deliverReplyNames)
		}
	}
}

// RcptResult

func (x *RcptResult) appendJSON(b []byte) []byte {
	b = append(b, `{"status":`...)
	b = appendStatus(b, x.Status)
	b = appendStringField(b, "action", x.Action, false)
	b = appendStringField(b, "reason", x.Reason, false)
	if x.RemoteMTA != "" {
		b = appendStringField(b, "remote_mta", x.RemoteMTA, false)
	}
	if x.DiagType != "" {
		b = appendStringField(b, "diag_type", x.DiagType, false)
	}
	if x.Diag != "" {
		b = appendStringField(b, "diag", x.Diag, false)
	}
	if x.Relay != "" {
		b = appendStringField(b, "relay", x.Relay, false)
	}
	return append(b, '}')
}

func readResults(r *reader, dst *[]RcptResult) {
	if !r.open('[') {
		return
	}
	s := []RcptResult{}
	for n := 0; r.more(']', n); n++ {
		s = append(s, RcptResult{})
		s[n].read(r)
	}
	*dst = s
}

var rcptResultNames = []string{"status", "action", "reason", "remote_mta", "diag_type", "diag", "relay"}

func (x *RcptResult) read(r *reader) {
	if !r.open('{') {
		return
	}
	var seen uint32
	for n := 0; r.more('}', n); n++ {
		switch k := r.key(); string(k) {
		case "status":
			r.once(&seen, 1<<0)
			readStatus(r, &x.Status)
		case "action":
			r.once(&seen, 1<<1)
			r.str(&x.Action)
		case "reason":
			r.once(&seen, 1<<2)
			r.str(&x.Reason)
		case "remote_mta":
			r.once(&seen, 1<<3)
			r.str(&x.RemoteMTA)
		case "diag_type":
			r.once(&seen, 1<<4)
			r.str(&x.DiagType)
		case "diag":
			r.once(&seen, 1<<5)
			r.str(&x.Diag)
		case "relay":
			r.once(&seen, 1<<6)
			r.str(&x.Relay)
		default:
			r.unknown(k, rcptResultNames)
		}
	}
}
