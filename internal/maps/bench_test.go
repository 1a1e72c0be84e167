package maps

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"
)

// The issue 6 figures: a 1,000,000-entry hash table, built from a text
// source the way postmap builds it, then queried the way a daemon does
// (cached table, reload checks included).
//
//	go test -run '^$' -bench 1M -benchtime 1x ./internal/maps/    (build)
//	go test -run '^$' -bench 'Lookup1M' ./internal/maps/         (lookups)

const benchEntries = 1_000_000

var bench struct {
	once sync.Once
	dir  string
	src  string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if bench.dir != "" {
		os.RemoveAll(bench.dir)
	}
	os.Exit(code)
}

func benchKey(i int) string { return fmt.Sprintf("user%07d@example%d.test", i, i%97) }

// benchSource writes the 1M-line source once per process and builds it.
func benchSource(b *testing.B) string {
	bench.once.Do(func() {
		bench.dir, bench.err = os.MkdirTemp("", "postern-maps-bench")
		if bench.err != nil {
			return
		}
		bench.src = filepath.Join(bench.dir, "virtual")
		f, err := os.Create(bench.src)
		if err != nil {
			bench.err = err
			return
		}
		w := bufio.NewWriter(f)
		for i := range benchEntries {
			fmt.Fprintf(w, "%s relay:[mx%d.example.net]\n", benchKey(i), i%13)
		}
		if err := w.Flush(); err != nil {
			bench.err = err
		}
		if err := f.Close(); err != nil {
			bench.err = err
		}
		if bench.err == nil {
			_, bench.err = buildFromSource(bench.src)
		}
	})
	if bench.err != nil {
		b.Fatal(bench.err)
	}
	return bench.src
}

// buildFromSource is what postmap does for "postmap hash:FILE".
func buildFromSource(src string) (int, error) {
	f, err := os.Open(src)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	bl, err := Create(DBPath(src), BuildOptions{FoldCase: true})
	if err != nil {
		return 0, err
	}
	n := 0
	err = ParseSource(bufio.NewReaderSize(f, 1<<16), SourceOptions{File: src}, func(e Entry) error {
		n++
		return bl.Add(e.Key, e.Value)
	})
	if err != nil {
		bl.Abort()
		return 0, err
	}
	return n, bl.Commit()
}

func BenchmarkBuild1M(b *testing.B) {
	src := benchSource(b)
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		n, err := buildFromSource(src)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(time.Since(start).Seconds(), "s/build")
		b.ReportMetric(float64(n)/time.Since(start).Seconds(), "entries/s")
	}
}

func openBench(b *testing.B) Table {
	src := benchSource(b)
	tab, err := Open("hash:"+src, DefaultOptions())
	if err != nil {
		b.Fatal(err)
	}
	return tab
}

func BenchmarkLookup1M(b *testing.B) {
	tab := openBench(b)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	keys := make([]string, 4096)
	for i := range keys {
		keys[i] = benchKey(rng.IntN(benchEntries))
	}
	lat := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		t0 := time.Now()
		_, found, err := tab.Lookup(ctx, keys[i%len(keys)])
		lat = append(lat, time.Since(t0))
		if err != nil || !found {
			b.Fatalf("lookup: %v %v", found, err)
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds()), "p99-ns")
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "lookups/s")
}

func BenchmarkLookup1MParallel(b *testing.B) {
	tab := openBench(b)
	ctx := context.Background()
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		rng := rand.New(rand.NewPCG(rand.Uint64(), 7))
		for pb.Next() {
			_, found, err := tab.Lookup(ctx, benchKey(rng.IntN(benchEntries)))
			if err != nil || !found {
				b.Errorf("lookup: %v %v", found, err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "lookups/s")
}

func BenchmarkLookupMiss1M(b *testing.B) {
	tab := openBench(b)
	ctx := context.Background()
	b.ResetTimer()
	for i := range b.N {
		if _, found, _ := tab.Lookup(ctx, fmt.Sprintf("nobody%d@nowhere.test", i&1023)); found {
			b.Fatal("found a missing key")
		}
	}
}
