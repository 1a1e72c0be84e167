package proto

import (
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// The fuzz tests hold the fast decoders to encoding/json on any input
// (checkDecode): if the fast path succeeds, json.Unmarshal succeeds with
// the same value; if json.Unmarshal fails, so does the fast path. Their
// seed corpus, under testdata/fuzz/, is written by
//
//	go test -run TestFuzzSeeds ./internal/proto/ -update

var update = flag.Bool("update", false, "rewrite the fuzz seed corpus under testdata/fuzz")

func FuzzFastDecodeCleanupOpen(f *testing.F)    { fuzzDecode[CleanupOpen](f) }
func FuzzFastDecodeCleanupResult(f *testing.F)  { fuzzDecode[CleanupResult](f) }
func FuzzFastDecodeDeliverRequest(f *testing.F) { fuzzDecode[DeliverRequest](f) }
func FuzzFastDecodeDeliverReply(f *testing.F)   { fuzzDecode[DeliverReply](f) }

func fuzzDecode[T any, PT fastPtr[T]](f *testing.F) {
	f.Fuzz(func(t *testing.T, p []byte) {
		checkDecode[T, PT](t, p)
	})
}

// seeds gives, for each fuzz target, the messages of its corpus: typical
// and random ones as our encoders write them, and the hand-made inputs of
// the decoding tests.
func seeds() map[string][][]byte {
	rng := rand.New(rand.NewPCG(4, 5))
	enc := func(vs ...any) [][]byte {
		var out [][]byte
		for _, v := range vs {
			p, err := json.Marshal(v)
			if err == nil && len(p) <= 4096 { // small seeds fuzz faster
				out = append(out, p)
			}
		}
		return out
	}
	var cases [][]byte
	for _, c := range decodeCases {
		cases = append(cases, []byte(c.in))
	}
	m := map[string][][]byte{
		"FuzzFastDecodeCleanupOpen": append(enc(typicalOpen, &CleanupOpen{}, randCleanupOpen(rng), randCleanupOpen(rng),
			&CleanupOpen{Source: "pickup", Flags: CleanupLocal | CleanupBounceOnReject, FullName: "Ann \"A\" <é>", Recipients: []Rcpt{{"a@b", "c@d", "SUCCESS,DELAY", "rfc822;c@d"}, {Addr: "x@y"}}, DSNRet: "HDRS", DSNEnvID: "E1", Queue: "hold"}),
			[]byte(`{"arrival":"2024-11-24T04:55:12.5+01:00","rcpts":[],"flags":7,"reserve":false}`)),
		"FuzzFastDecodeCleanupResult": enc(typicalResult, &CleanupResult{}, randCleanupResult(rng), randCleanupResult(rng), randCleanupResult(rng)),
		"FuzzFastDecodeDeliverRequest": enc(typicalReq, &DeliverRequest{}, randDeliverRequest(rng), randDeliverRequest(rng),
			&DeliverRequest{Queue: "active", QueueID: "Q", Transport: "error", Nexthop: "5.1.1 no such user", Recipients: []DeliverRcpt{{Addr: "a@b", Offset: -1}}, Size: 1 << 40, Flags: DeliverTrace, ErrorText: "5.1.1 no such user"}),
		"FuzzFastDecodeDeliverReply": enc(typicalReply, &DeliverReply{}, randDeliverReply(rng), randDeliverReply(rng),
			&DeliverReply{Status: typicalReply.Results[0].Status, DestinationDead: true}),
	}
	for target := range m {
		m[target] = append(m[target], cases...)
	}
	return m
}

// TestFuzzSeeds writes the seed corpus with -update; otherwise it checks
// that each target has one.
func TestFuzzSeeds(t *testing.T) {
	for target, inputs := range seeds() {
		dir := filepath.Join("testdata", "fuzz", target)
		if !*update {
			if names, err := os.ReadDir(dir); err != nil || len(names) == 0 {
				t.Errorf("%s: no seed corpus (%v); run go test -run TestFuzzSeeds -update", dir, err)
			}
			continue
		}
		if err := os.RemoveAll(dir); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for i, p := range inputs {
			body := "go test fuzz v1\n[]byte(" + strconv.Quote(string(p)) + ")\n"
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed-%02d", i)), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}
