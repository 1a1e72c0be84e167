package proto

import (
	"encoding/json"
	"testing"
	"time"
)

// BenchmarkHotMessages encodes and decodes each hot message with
// encoding/json and with the fast path in the same run, and reports both
// times and their ratio (ns/op is the two together):
//
//	go test -run '^$' -bench HotMessages ./internal/proto/
func BenchmarkHotMessages(b *testing.B) {
	b.Run("CleanupOpen", func(b *testing.B) { benchHot(b, typicalOpen) })
	b.Run("CleanupResult", func(b *testing.B) { benchHot(b, typicalResult) })
	b.Run("DeliverRequest", func(b *testing.B) { benchHot(b, typicalReq) })
	b.Run("DeliverReply", func(b *testing.B) { benchHot(b, typicalReply) })
}

func benchHot[T any, PT fastPtr[T]](b *testing.B, v PT) {
	p, err := json.Marshal(v)
	if err != nil {
		b.Fatal(err)
	}
	slow := func() {
		q, _ := json.Marshal(v)
		var m T
		if err := json.Unmarshal(q, &m); err != nil {
			b.Fatal(err)
		}
	}
	var buf []byte
	fast := func() {
		buf, _ = v.appendJSON(buf[:0])
		var m T
		if err := PT(&m).decodeJSON(buf); err != nil {
			b.Fatal(err)
		}
	}
	run := func(f func()) float64 {
		start := time.Now()
		for range b.N {
			f()
		}
		return float64(time.Since(start).Nanoseconds()) / float64(b.N)
	}
	b.SetBytes(int64(len(p)))
	slowNs := run(slow)
	fastNs := run(fast)
	b.ReportMetric(slowNs, "json-ns/op")
	b.ReportMetric(fastNs, "fast-ns/op")
	b.ReportMetric(slowNs/fastNs, "speedup")
	b.ReportMetric(testing.AllocsPerRun(100, slow), "json-allocs/op")
	b.ReportMetric(testing.AllocsPerRun(100, fast), "fast-allocs/op")
}
