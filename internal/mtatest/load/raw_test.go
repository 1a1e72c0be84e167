package load

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/timerslack"
)

// The yardstick: the disk's own durable create rate (create, write 4 KB,
// fsync, rename, fsync the directory), measured in a process of its own
// with the Go runtime's and the kernel's default settings, whatever the
// benchmark's own are (main_test.go), and with a processor of the Go
// runtime per writer, as a thread of a C program would have: otherwise a
// writer back from fsync may wait for the runtime to take a processor
// back from another one still in fsync, and the yardstick would measure
// the runtime as much as the disk.

// rawEnv carries "DIR WRITERS NANOSECONDS" to the measuring process.
const rawEnv = "POSTERN_LOAD_RAW"

// rawRate measures the disk's durable create rate in dir with the given
// number of writers: creates per second, and the 99th percentile of one
// create's time in milliseconds (what the disk alone gives the p99 of end
// of DATA → 250).
func rawRate(b *testing.B, dir string, writers int, d time.Duration) (rate, p99 float64) {
	b.Helper()
	self, err := os.Executable()
	if err != nil {
		b.Fatalf("find own executable: %v", err)
	}
	cmd := exec.Command(self, "-test.run=^TestRawChild$", "-test.count=1")
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GODEBUG=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, reexecEnv+"=1", fmt.Sprintf("%s=%s %d %d", rawEnv, dir, writers, d.Nanoseconds()))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := timerslack.Run(timerslack.Default, cmd.Start); err != nil {
		b.Fatalf("start the raw rate measurement: %v", err)
	}
	if err := cmd.Wait(); err != nil {
		b.Fatalf("raw rate measurement: %v\n%s", err, out.String())
	}
	for _, line := range strings.Split(out.String(), "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == "raw-result" {
			rate, err1 := strconv.ParseFloat(f[1], 64)
			p99, err2 := strconv.ParseFloat(f[2], 64)
			if err1 == nil && err2 == nil {
				return rate, p99
			}
		}
	}
	b.Fatalf("raw rate measurement gave no result:\n%s", out.String())
	return 0, 0
}

// TestRawChild is the measuring process (see rawRate); it does nothing in
// a normal test run.
func TestRawChild(t *testing.T) {
	spec := os.Getenv(rawEnv)
	if spec == "" {
		t.Skip("run by the benchmarks only")
	}
	var dir string
	var writers int
	var ns int64
	if _, err := fmt.Sscanf(spec, "%s %d %d", &dir, &writers, &ns); err != nil {
		t.Fatalf("%s=%q: %v", rawEnv, spec, err)
	}
	rate, p99, err := measureRaw(dir, writers, time.Duration(ns))
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("raw-result %g %g\n", rate, p99)
}

func measureRaw(dir string, writers int, d time.Duration) (rate, p99 float64, err error) {
	runtime.GOMAXPROCS(max(writers, runtime.GOMAXPROCS(0)))
	data := bytes.Repeat([]byte("y"), messageSize)
	deadline := time.Now().Add(d)
	lat := make([][]time.Duration, writers)
	errs := make([]error, writers)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; time.Now().Before(deadline); i++ {
				took, err := rawCreate(dir, w, i, data)
				if err != nil {
					errs[w] = err
					return
				}
				lat[w] = append(lat[w], took)
			}
		}()
	}
	wg.Wait()
	var all []time.Duration
	for w, l := range lat {
		if errs[w] != nil {
			return 0, 0, errs[w]
		}
		all = append(all, l...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	return float64(len(all)) / d.Seconds(), percentile(all, 0.99), nil
}

// rawCreate makes one file durable the portable way and returns how long
// that took, then removes the file (untimed: a queue manager removes a
// queue file later).
func rawCreate(dir string, w, i int, data []byte) (time.Duration, error) {
	start := time.Now()
	tmp := filepath.Join(dir, fmt.Sprintf("t%d.%d", w, i))
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o600)
	if err != nil {
		return 0, err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, fmt.Errorf("write %s: %w", tmp, err)
	}
	final := filepath.Join(dir, fmt.Sprintf("f%d.%d", w, i))
	if err := os.Rename(tmp, final); err != nil {
		return 0, err
	}
	df, err := os.Open(dir)
	if err != nil {
		return 0, err
	}
	err = df.Sync()
	df.Close()
	if err != nil {
		return 0, fmt.Errorf("fsync %s: %w", dir, err)
	}
	took := time.Since(start)
	return took, os.Remove(final)
}
