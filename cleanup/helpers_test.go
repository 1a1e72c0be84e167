package cleanup

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/maillog"
	"github.com/postern-mta/postern/internal/maps"
	"github.com/postern-mta/postern/internal/mtatest"
	"github.com/postern-mta/postern/internal/proto"
	"github.com/postern-mta/postern/queue"
)

// arrival is the fixed arrival time of test messages.
var arrival = time.Date(2026, 11, 22, 11, 7, 19, 0, time.UTC)

// syncBuffer is a log destination safe for the server's goroutines.
type syncBuffer = mtatest.LogBuffer

// testConfig is a cleanup configuration with Postfix's defaults.
func testConfig(dir string) *Config {
	return &Config{
		QueueDir:                  filepath.Join(dir, "spool"),
		HashQueueNames:            []string{"deferred", "defer"},
		HashQueueDepth:            1,
		MyHostname:                "mx.example.test",
		MyOrigin:                  "mx.example.test",
		HeaderSizeLimit:           102400,
		HopcountLimit:             50,
		LineLengthLimit:           2048,
		MessageSizeLimit:          10240000,
		BodyChecksSizeLimit:       51200,
		HeaderAddressTokenLimit:   10240,
		MIMENestingLimit:          100,
		CanonicalClasses:          classEnvSender | classEnvRcpt | classHdrSender | classHdrRcpt,
		SenderCanonicalClasses:    classEnvSender | classHdrSender,
		RecipientCanonicalClasses: classEnvRcpt | classHdrRcpt,
		MasqueradeClasses:         classEnvSender | classHdrSender | classHdrRcpt,
		MasqueradeExceptions:      map[string]bool{},
		ExpansionLimit:            1000,
		RecursionLimit:            1000,
		PropagateCanonical:        true,
		PropagateVirtual:          true,
		EnableOriginalRecipient:   true,
		DupFilterLimit:            1000,
		QmgrService:               "qmgr",
		BounceService:             "bounce",
		IPCTimeout:                time.Minute,
		StopTimeout:               time.Second,
		IsLocalDomain: func(_ context.Context, d string) bool {
			return d == "" || d == "mx.example.test" || d == "localhost"
		},
	}
}

// table opens a lookup table for a test; a "file" spec gets its content
// written first: table(t, "regexp", "/x/ REJECT") → regexp:/tmp/…/t1.
func table(t testing.TB, typ, content string) maps.Table {
	t.Helper()
	spec := typ + ":" + content
	if typ == "regexp" || typ == "pcre" || typ == "texthash" {
		p := filepath.Join(t.TempDir(), "table")
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		spec = typ + ":" + p
	}
	opt := maps.DefaultOptions()
	opt.NoReload = true
	opt.Warn = func(msg string) { t.Logf("table warning: %s", msg) }
	tb, err := maps.Open(spec, opt)
	if err != nil {
		t.Fatalf("open %s: %v", spec, err)
	}
	return tb
}

// fakeBouncer records bounce requests.
type fakeBouncer struct {
	mu    sync.Mutex
	calls []bounceCall
	err   error
}

type bounceCall struct {
	queue, id string
	entries   []proto.LogEntry
	content   string // the message file's content, read during the call
}

func (f *fakeBouncer) Bounce(_ context.Context, q, id string, entries []proto.LogEntry) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	call := bounceCall{queue: q, id: id, entries: entries}
	if qf, err := queue.Open(filepath.Join(testLayoutRoot, q, id), false); err == nil {
		b, _ := io.ReadAll(qf.Content())
		call.content = string(b)
		qf.Close()
	}
	f.calls = append(f.calls, call)
	return f.err
}

// testLayoutRoot is set by newTestServer for fakeBouncer (tests that
// bounce do not run in parallel).
var testLayoutRoot string

// testServer is a cleanup service on a Unix socket in a temporary
// directory, with a real queue.
type testServer struct {
	t      testing.TB
	c      *Cleanup
	cfg    *Config
	log    *syncBuffer
	sock   string
	bounce *fakeBouncer
}

func newTestServer(t testing.TB, mod func(*Config)) *testServer {
	t.Helper()
	dir := t.TempDir()
	cfg := testConfig(dir)
	if mod != nil {
		mod(cfg)
	}
	logBuf := &syncBuffer{}
	c := New(cfg, maillog.New(logBuf, "postern", "cleanup", 0))
	fb := &fakeBouncer{}
	c.bouncer = fb
	testLayoutRoot = cfg.QueueDir
	if err := c.layout.MakeDirs(-1, -1); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "cleanup.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer nc.Close()
				c.serve(ctx, nc, func(bool) {})
			}()
		}
	}()
	t.Cleanup(func() {
		cancel()
		ln.Close()
		wg.Wait()
	})
	return &testServer{t: t, c: c, cfg: cfg, log: logBuf, sock: sock, bounce: fb}
}

// submit sends one message and returns cleanup's verdict.
func (s *testServer) submit(o *proto.CleanupOpen, content string) (*proto.CleanupResult, error) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cl, err := proto.DialCleanup(ctx, s.sock)
	if err != nil {
		s.t.Fatal(err)
	}
	defer cl.Close()
	if o.Arrival.IsZero() {
		o.Arrival = arrival
	}
	return cl.Submit(ctx, o, strings.NewReader(content))
}

// queued finds a message and returns its queue and file.
func (s *testServer) queued(id string) (string, *queue.File) {
	s.t.Helper()
	q, path, err := s.c.layout.Find(id)
	if err != nil {
		s.t.Fatalf("find %s: %v", id, err)
	}
	f, err := queue.Open(path, false)
	if err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() { f.Close() })
	return q, f
}

// content returns a queued message's content.
func content(t testing.TB, f *queue.File) string {
	t.Helper()
	b, err := io.ReadAll(f.Content())
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// countFiles counts message files in a queue.
func (s *testServer) countFiles(q string) int {
	n := 0
	s.c.layout.Walk(q, func(string, string) error { n++; return nil }) //nolint:errcheck
	return n
}

// anyFiles reports whether a queue directory holds any file at all,
// temporary ones included.
func anyFiles(t testing.TB, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		if !e.IsDir() {
			names = append(names, e.Name())
		}
	}
	return names
}
