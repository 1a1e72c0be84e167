package proto

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"net"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/postern-mta/postern/internal/dsn"
)

// The fast path must be encoding/json: these tests compare the two on
// many values (encoding) and many inputs (decoding); the fuzz tests in
// fastjson_fuzz_test.go on any input.

// fastPtr is a pointer to a hot message type.
type fastPtr[T any] interface {
	*T
	fastMessage
}

// checkEncode checks that v's fast encoding is json.Marshal's, and that
// decoding it takes the fast path and gives json.Unmarshal's value.
func checkEncode[T any, PT fastPtr[T]](t *testing.T, v PT) {
	t.Helper()
	want, jerr := json.Marshal(v)
	got, err := v.appendJSON([]byte("junk"))
	if jerr != nil {
		if err != errSlowPath {
			t.Errorf("json.Marshal fails (%v) but the fast encoder gives %v", jerr, err)
		}
		return
	}
	if err != nil {
		t.Fatalf("fast encoder: %v; json.Marshal gives\n%s", err, want)
	}
	if got := got[len("junk"):]; !bytes.Equal(got, want) {
		t.Fatalf("fast encoder differs from json.Marshal:\n got %s\nwant %s", got, want)
	}
	var fast T
	if err := PT(&fast).decodeJSON(want); err != nil {
		t.Fatalf("fast decoder gave up on our own encoding:\n%s", want)
	}
	checkDecode[T, PT](t, want)
}

// checkDecode checks the fast decoder against json.Unmarshal into a zero
// value on p: it may give up, but if it succeeds json.Unmarshal succeeds
// with the same value, and if json.Unmarshal fails it fails.
func checkDecode[T any, PT fastPtr[T]](t *testing.T, p []byte) (fastOK bool) {
	t.Helper()
	var fast, slow T
	ferr := PT(&fast).decodeJSON(p)
	jerr := json.Unmarshal(p, &slow)
	switch {
	case ferr != nil && ferr != errSlowPath:
		t.Fatalf("fast decoder error %v, want errSlowPath only, on %q", ferr, p)
	case ferr != nil && !reflect.ValueOf(fast).IsZero():
		t.Fatalf("fast decoder gave up but left %+v, on %q", fast, p)
	case ferr == nil && jerr != nil:
		t.Fatalf("fast decoder accepts what json.Unmarshal refuses (%v): %q gave %+v", jerr, p, fast)
	case ferr == nil && !reflect.DeepEqual(fast, slow):
		t.Fatalf("fast decoder differs from json.Unmarshal on %q:\n got %+v\nwant %+v", p, fast, slow)
	}
	return ferr == nil
}

// Awkward strings: every kind of escape, HTML characters, the JavaScript
// line separators, invalid UTF-8 (alone, truncated, surrogate halves),
// non-ASCII, the replacement character itself.
var awkward = []string{
	"", "a", "user@example.com", `"`, `\`, `\"`, "/", "\x00", "\x01", "\x1f", "\x7f",
	"\b\f\n\r\t", "<script>&amp;</script>", "\u2028", "\u2029", "x\u2028y\u2029z",
	"\xff", "\xc3", "\xe2\x80", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\ufffd", "é", "日本語",
	"😀", "Grüße <ü@bücher.example>", "rfc822;x@y", "SUCCESS,DELAY,FAILURE",
	"host mx[1.2.3.4] said: 550 5.1.1 <x@y>: \"no\" (in reply to RCPT TO command)",
	strings.Repeat("long text ", 2000), strings.Repeat("\x00é<", 300),
}

func randString(rng *rand.Rand) string {
	if rng.IntN(4) == 0 {
		return awkward[rng.IntN(len(awkward))]
	}
	var b strings.Builder
	for n := rng.IntN(6); n > 0; n-- {
		switch rng.IntN(4) {
		case 0:
			b.WriteString(awkward[rng.IntN(len(awkward)-2)])
		case 1:
			b.WriteByte(byte(rng.IntN(256)))
		case 2:
			b.WriteRune(rune(rng.IntN(0x110000)))
		default:
			b.WriteString("plain-text.example")
		}
	}
	return b.String()
}

var awkwardTimes = []time.Time{
	{},
	time.Date(2024, 11, 24, 4, 55, 12, 0, time.UTC),
	time.Date(2024, 11, 24, 4, 55, 12, 123456789, time.UTC),
	time.Date(2024, 11, 24, 4, 55, 12, 100000000, time.FixedZone("", 5*3600+30*60)),
	time.Date(2024, 2, 29, 23, 59, 59, 1, time.FixedZone("PST", -8*3600)),
	time.Date(2024, 1, 1, 0, 0, 0, 0, time.FixedZone("odd", 3661)),
	time.Date(2024, 1, 1, 0, 0, 0, 0, time.FixedZone("late", 23*3600+59*60)),
	time.Date(2024, 1, 1, 0, 0, 0, 0, time.FixedZone("too late", 24*3600)),
	time.Date(2024, 1, 1, 0, 0, 0, 0, time.FixedZone("far", -100*3600)),
	time.Date(2024, 1, 1, 0, 0, 0, 0, time.Local),
	time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC),
	time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
	time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
	time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC),
	time.Unix(0, 0),
	time.Now(), // with a monotonic reading, which JSON drops
}

func randTime(rng *rand.Rand) time.Time {
	switch rng.IntN(4) {
	case 0:
		return awkwardTimes[rng.IntN(len(awkwardTimes))]
	case 1:
		return time.Time{}
	}
	t := time.Unix(rng.Int64N(1<<34)-1<<33, rng.Int64N(1e9))
	switch rng.IntN(3) {
	case 0:
		return t.UTC()
	case 1:
		return t.In(time.FixedZone("", (rng.IntN(48*60)-24*60)*60))
	}
	return t
}

func randInt(rng *rand.Rand) int64 {
	switch rng.IntN(4) {
	case 0:
		return 0
	case 1:
		return []int64{1, -1, math.MaxInt64, math.MinInt64, math.MaxUint32}[rng.IntN(5)]
	}
	return rng.Int64() >> rng.IntN(64)
}

func randStatus(rng *rand.Rand) *dsn.Status {
	switch rng.IntN(4) {
	case 0:
		return nil
	case 1:
		return &dsn.Status{}
	}
	return &dsn.Status{Code: int(randInt(rng)), Enhanced: randString(rng), Text: randString(rng), Cause: errors.New("not sent")}
}

// randSlice gives nil, empty, a few or, now and then, many elements.
func randSlice[T any](rng *rand.Rand, elem func(*rand.Rand) T) []T {
	n := 0
	switch rng.IntN(8) {
	case 0:
		return nil
	case 1:
	case 2:
		n = 20 + rng.IntN(60)
	default:
		n = 1 + rng.IntN(4)
	}
	s := make([]T, n)
	for i := range s {
		s[i] = elem(rng)
	}
	return s
}

func randAttr(rng *rand.Rand) Attr {
	names := []string{AttrClientName, AttrClientAddr, AttrHeloName, AttrProtocol, AttrUID}
	if rng.IntN(3) == 0 {
		return Attr{Name: randString(rng), Value: randString(rng)}
	}
	return Attr{Name: names[rng.IntN(len(names))], Value: randString(rng)}
}

func randCleanupOpen(rng *rand.Rand) *CleanupOpen {
	return &CleanupOpen{
		Source: randString(rng), Flags: uint32(randInt(rng)), Sender: randString(rng), FullName: randString(rng),
		Recipients: randSlice(rng, func(rng *rand.Rand) Rcpt {
			return Rcpt{Addr: randString(rng), Orig: randString(rng), Notify: randString(rng), ORCPT: randString(rng)}
		}),
		DSNRet: randString(rng), DSNEnvID: randString(rng), Arrival: randTime(rng), Attrs: randSlice(rng, randAttr),
		Queue: randString(rng), Reserve: rng.IntN(2) == 0, Reserved: randString(rng),
	}
}

func randCleanupResult(rng *rand.Rand) *CleanupResult {
	return &CleanupResult{
		QueueID: randString(rng), Status: randStatus(rng), Held: rng.IntN(2) == 0, Discarded: rng.IntN(2) == 0,
		Bounced: rng.IntN(2) == 0, Next: randString(rng),
	}
}

func randDeliverRequest(rng *rand.Rand) *DeliverRequest {
	return &DeliverRequest{
		Queue: randString(rng), QueueID: randString(rng), Transport: randString(rng), Nexthop: randString(rng),
		Sender: randString(rng),
		Recipients: randSlice(rng, func(rng *rand.Rand) DeliverRcpt {
			return DeliverRcpt{Addr: randString(rng), Orig: randString(rng), Notify: randString(rng), ORCPT: randString(rng), Offset: randInt(rng)}
		}),
		Arrival: randTime(rng), Active: randTime(rng), Size: randInt(rng), DSNRet: randString(rng),
		DSNEnvID: randString(rng), Attrs: randSlice(rng, randAttr), Flags: uint32(randInt(rng)), ErrorText: randString(rng),
	}
}

func randDeliverReply(rng *rand.Rand) *DeliverReply {
	return &DeliverReply{
		Results: randSlice(rng, func(rng *rand.Rand) RcptResult {
			return RcptResult{Status: randStatus(rng), Action: randString(rng), Reason: randString(rng),
				RemoteMTA: randString(rng), DiagType: randString(rng), Diag: randString(rng), Relay: randString(rng)}
		}),
		Status: randStatus(rng), DestinationDead: rng.IntN(2) == 0,
	}
}

// Typical messages, as smtpd, cleanup, qmgr and the smtp agent send them.
var (
	arrival       = time.Date(2024, 11, 24, 4, 55, 12, 345678901, time.UTC)
	typicalAttrs  = []Attr{{AttrClientName, "mail.example.org"}, {AttrReverseName, "mail.example.org"}, {AttrClientAddr, "192.0.2.25"}, {AttrClientPort, "52144"}, {AttrRewriteContext, "remote"}, {AttrHeloName, "mail.example.org"}, {AttrProtocol, "ESMTP"}, {AttrContentFilter, ""}}
	typicalOpen   = &CleanupOpen{Source: "smtpd", Sender: "alice@example.org", Recipients: []Rcpt{{Addr: "bob@example.net"}}, Arrival: arrival, Attrs: typicalAttrs, Reserve: true, Reserved: "4XkQ2p1Zb8z9y"}
	typicalResult = &CleanupResult{QueueID: "4XkQ2p1Zb8z9y", Next: "4XkQ2p1Zc0z9y"}
	typicalReq    = &DeliverRequest{Queue: "active", QueueID: "4XkQ2p1Zb8z9y", Transport: "smtp", Nexthop: "example.net", Sender: "alice@example.org", Recipients: []DeliverRcpt{{Addr: "bob@example.net", Offset: 312}}, Arrival: arrival, Active: arrival.Add(time.Millisecond), Size: 2311, Attrs: typicalAttrs}
	typicalReply  = &DeliverReply{Results: []RcptResult{{Status: dsn.Delivery("2.0.0", "Ok: queued as 1234"), Action: ActionRelayed, Reason: "250 2.0.0 Ok: queued as 1234", RemoteMTA: "mx.example.net", DiagType: "smtp", Diag: "250 2.0.0 Ok: queued as 1234", Relay: "mx.example.net[198.51.100.7]:25"}}}
)

func TestFastEncodeTable(t *testing.T) {
	for i, tm := range awkwardTimes {
		checkEncode(t, &CleanupOpen{Arrival: tm})
		checkEncode(t, &DeliverRequest{Arrival: tm, Active: awkwardTimes[len(awkwardTimes)-1-i]})
	}
	for _, s := range awkward {
		checkEncode(t, &CleanupOpen{Source: s, Sender: s, FullName: s, Recipients: []Rcpt{{s, s, s, s}}, DSNRet: s, DSNEnvID: s, Attrs: []Attr{{s, s}}, Queue: s, Reserved: s})
		checkEncode(t, &CleanupResult{QueueID: s, Status: &dsn.Status{Enhanced: s, Text: s}, Next: s})
		checkEncode(t, &DeliverRequest{Queue: s, QueueID: s, Transport: s, Nexthop: s, Sender: s, Recipients: []DeliverRcpt{{s, s, s, s, 1}}, DSNRet: s, DSNEnvID: s, Attrs: []Attr{{s, s}}, ErrorText: s})
		checkEncode(t, &DeliverReply{Results: []RcptResult{{&dsn.Status{Code: 550, Enhanced: s, Text: s}, s, s, s, s, s, s}}})
	}
	checkEncode(t, &CleanupOpen{})
	checkEncode(t, &CleanupOpen{Recipients: []Rcpt{}, Attrs: []Attr{}})
	checkEncode(t, &CleanupOpen{Flags: math.MaxUint32, Reserve: true})
	checkEncode(t, typicalOpen)
	checkEncode(t, &CleanupResult{})
	checkEncode(t, &CleanupResult{Status: &dsn.Status{}, Held: true, Discarded: true, Bounced: true})
	checkEncode(t, typicalResult)
	checkEncode(t, &DeliverRequest{})
	checkEncode(t, &DeliverRequest{Size: math.MinInt64, Flags: 3, Recipients: []DeliverRcpt{{Offset: math.MaxInt64}, {Offset: -1}}})
	checkEncode(t, typicalReq)
	checkEncode(t, &DeliverReply{})
	checkEncode(t, &DeliverReply{Results: []RcptResult{}, Status: dsn.Temp("4.3.0", "cannot read queue file"), DestinationDead: true})
	checkEncode(t, &DeliverReply{Results: []RcptResult{{}, {Status: &dsn.Status{Code: -7}}}})
	checkEncode(t, typicalReply)
}

func TestFastEncodeRandom(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	for range 300 {
		checkEncode(t, randCleanupOpen(rng))
		checkEncode(t, randCleanupResult(rng))
		checkEncode(t, randDeliverRequest(rng))
		checkEncode(t, randDeliverReply(rng))
	}
}

// TestAppendStringEveryRune compares appendString with json.Marshal on
// every byte, every pair of bytes and every code point.
func TestAppendStringEveryRune(t *testing.T) {
	var all strings.Builder
	for c := range rune(utf8.MaxRune + 1) {
		all.WriteRune(c)
	}
	for c := range 256 {
		for d := range 256 {
			all.WriteByte(byte(c))
			all.WriteByte(byte(d))
		}
	}
	s := all.String()
	want, _ := json.Marshal(s)
	if got := appendString(nil, s); !bytes.Equal(got, want) {
		i := 0
		for i < len(got) && i < len(want) && got[i] == want[i] {
			i++
		}
		t.Fatalf("appendString differs from json.Marshal at byte %d: got %q, want %q", i, got[i:min(i+20, len(got))], want[i:min(i+20, len(want))])
	}
}

// Inputs the fast decoder must read exactly like encoding/json, or leave
// to it (fast false).
var decodeCases = []struct {
	name string
	in   string
	fast bool
}{
	{"white space", " {\t\"queue_id\" :\n\"Q\" ,\r\"next\":\"N\"} \n", true},
	{"empty object", `{}`, true},
	{"null message", `null`, true},
	{"null fields", `{"queue_id":null,"status":null,"held":null,"next":null}`, true},
	{"empty status", `{"status":{}}`, true},
	{"unknown fields", `{"x":[1,-2.5e+3,{"a":[true,false,null,"\u00e9\n"]}],"queue_id":"Q","y":{}}`, true},
	{"escapes", `{"queue_id":"a\"b\\c\/d\b\f\n\r\t\u00e9\u2028\u003c"}`, true},
	{"unicode", `{"queue_id":"日本語 ü 😀"}`, true},
	{"unknown key Cause", `{"status":{"Cause":"x","code":451}}`, true},
	{"case-folded key", `{"Queue_ID":"Q"}`, false},
	{"case-folded unknown-looking key", `{"NEXT":"N"}`, false},
	{"duplicate key", `{"queue_id":"a","queue_id":"b"}`, false},
	{"escaped key", `{"queue\u005fid":"Q"}`, false},
	{"non-ASCII key", `{"ſtatus":{}}`, false},
	{"surrogate pair", `{"queue_id":"\ud83d\ude00"}`, false},
	{"lone surrogate", `{"queue_id":"\ud83d"}`, false},
	{"invalid UTF-8", "{\"queue_id\":\"\xff\"}", false},
	{"control byte", "{\"queue_id\":\"\x01\"}", false},
	{"bad escape", `{"queue_id":"\x"}`, false},
	{"number for string", `{"queue_id":1}`, false},
	{"string for bool", `{"held":"true"}`, false},
	{"fraction", `{"status":{"code":4.5e2}}`, false},
	{"exponent", `{"status":{"code":1e2}}`, false},
	{"leading zero", `{"status":{"code":0451}}`, false},
	{"minus zero", `{"status":{"code":-0}}`, true},
	{"overflow", `{"status":{"code":99999999999999999999}}`, false},
	{"trailing comma", `{"queue_id":"Q",}`, false},
	{"missing comma", `{"queue_id":"Q" "next":"N"}`, false},
	{"trailing data", `{"queue_id":"Q"} x`, false},
	{"two messages", `{}{}`, false},
	{"truncated", `{"queue_id":"Q"`, false},
	{"unknown field bad number", `{"x":01}`, false},
	{"unknown field bad literal", `{"x":tru}`, false},
	{"deep unknown field", `{"x":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`, false},
	{"array", `[]`, false},
	{"string", `"Q"`, false},
}

func TestFastDecodeCases(t *testing.T) {
	for _, c := range decodeCases {
		t.Run(c.name, func(t *testing.T) {
			if fast := checkDecode[CleanupResult](t, []byte(c.in)); fast != c.fast {
				t.Errorf("fast path taken: %v, want %v", fast, c.fast)
			}
		})
	}
}

func TestFastDecodeNumbers(t *testing.T) {
	for _, in := range []string{
		`{"flags":4294967295}`, `{"flags":4294967296}`, `{"flags":-1}`, `{"flags":-0}`, `{"flags":0}`,
		`{"flags":1.0}`, `{"flags":"1"}`, `{"flags":true}`, `{"flags":-}`, `{"flags":- 1}`,
		`{"reserve":true}`, `{"reserve":false}`, `{"reserve":0}`, `{"reserve":truex}`,
		`{"arrival":"2024-11-24T04:55:12.5+01:00"}`, `{"arrival":"2024-11-24T04:55:12Z"}`,
		`{"arrival":"2024-11-24 04:55:12Z"}`, `{"arrival":"\u0032024-11-24T04:55:12Z"}`,
		`{"arrival":1}`, `{"arrival":null}`, `{"arrival":"2024-11-24T04:55:12+24:00"}`,
		`{"rcpts":[]}`, `{"rcpts":null}`, `{"rcpts":[null]}`, `{"rcpts":[{}]}`, `{"rcpts":{}}`, `{"rcpts":[{"addr":"a"},]}`,
		`{"attrs":[{"n":"a","v":"b","N":"c"}]}`, `{"attrs":[{"n":"a"},{"v":"b"}]}`,
	} {
		checkDecode[CleanupOpen](t, []byte(in))
	}
	for _, in := range []string{
		`{"size":9223372036854775807}`, `{"size":9223372036854775808}`, `{"size":-9223372036854775808}`,
		`{"size":-9223372036854775809}`, `{"rcpts":[{"offset":-1}]}`, `{"rcpts":[{"offset":1e3}]}`,
	} {
		checkDecode[DeliverRequest](t, []byte(in))
	}
}

// TestConnFastRoundTrip sends each hot message over a pipe, as a pointer
// and as a value, and reads it back with Recv.
func TestConnFastRoundTrip(t *testing.T) {
	msgs := []any{typicalOpen, *typicalOpen, typicalResult, *typicalResult, typicalReq, *typicalReq, typicalReply, *typicalReply,
		&DeliverReply{Status: dsn.Temp("4.3.0", "cannot read queue file")}}
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	go func() {
		w := NewConn(a)
		for _, m := range msgs {
			if err := w.Send(m); err != nil {
				return
			}
		}
	}()
	r := NewConn(b)
	for _, m := range msgs {
		got := reflect.New(reflect.Indirect(reflect.ValueOf(m)).Type())
		if err := r.Recv(got.Interface()); err != nil {
			t.Fatalf("recv %T: %v", m, err)
		}
		want, _ := json.Marshal(m)
		again, _ := json.Marshal(got.Interface())
		if !bytes.Equal(want, again) {
			t.Errorf("%T came back as\n%s\nwant\n%s", m, again, want)
		}
	}
}

// TestConnSlowPaths: what the fast path leaves to encoding/json still
// works (or fails) as before.
func TestConnSlowPaths(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	w, r := NewConn(a), NewConn(b)

	err := w.Queue(&CleanupOpen{Arrival: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)})
	if err == nil || !strings.Contains(err.Error(), "year outside of range") {
		t.Errorf("encode of year 10000: got %v, want encoding/json's error", err)
	}
	var nilReply *DeliverReply
	if err := nilReply.decodeJSON([]byte(`{}`)); err != errSlowPath {
		t.Errorf("decode into a nil pointer: got %v, want errSlowPath (json.Unmarshal's error)", err)
	}

	go func() {
		w.writeFrame(kindJSON, []byte(`{"Queue_ID":"Q","status":{"code":4.51e2}}`))
		w.writeFrame(kindJSON, []byte(`{"queue_id":"a","queue_id":"b"}`))
		w.writeFrame(kindJSON, []byte(`{"queue_id":"a"`))
		w.Flush()
	}()
	var res CleanupResult
	if err := r.Recv(&res); err == nil {
		t.Errorf("a fractional code decoded: %+v", res)
	}
	res = CleanupResult{Next: "stale"}
	if err := r.Recv(&res); err != nil || res.QueueID != "b" || res.Next != "" {
		t.Errorf("duplicate key: got %+v, %v; want encoding/json's last value in a zero message", res, err)
	}
	if err := r.Recv(&res); !errors.Is(err, ErrProtocol) {
		t.Errorf("truncated message: got %v, want a protocol error", err)
	}
}

// TestRecvResetsHotMessages: Recv gives what json.Unmarshal gives into a
// zero value, whatever the value passed held.
func TestRecvResetsHotMessages(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	go NewConn(a).Send(&DeliverReply{Results: []RcptResult{{Action: ActionDelivered}}})
	rep := DeliverReply{Status: dsn.Temp("4.3.0", "old"), Results: make([]RcptResult, 3)}
	if err := NewConn(b).Recv(&rep); err != nil {
		t.Fatal(err)
	}
	if rep.Status != nil || len(rep.Results) != 1 || rep.Results[0].Action != ActionDelivered {
		t.Errorf("got %+v", rep)
	}
}

// TestFastEncodeAllocs: encoding into the Conn's buffer allocates nothing.
func TestFastEncodeAllocs(t *testing.T) {
	var c Conn
	for _, m := range []any{typicalOpen, typicalResult, typicalReq, typicalReply, *typicalResult, *typicalReq} {
		if n := testing.AllocsPerRun(100, func() { c.encode(m) }); n != 0 {
			t.Errorf("%T: %v allocations per encoding", m, n)
		}
	}
}
