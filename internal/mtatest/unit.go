package mtatest

// Helpers for a package's own tests, which run a daemon's code in the
// test process rather than a whole instance: a log sink, servers on a
// socket that end with the test, and queue files to deliver.

import (
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/postern-mta/postern/internal/proto"
	"github.com/postern-mta/postern/queue"
)

// LogBuffer is a log sink that a daemon's goroutines may write at once
// while the test reads it.
type LogBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String returns everything written so far.
func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// ListenUnix listens on the Unix socket path, making its directory first;
// the listener is closed when the test ends.
func ListenUnix(t testing.TB, path string) net.Listener {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

// Serve runs handle for every connection ln accepts, each in its own
// goroutine, and closes the connection when handle returns. It stops when
// the test ends or stop is called, whichever comes first: ln and the
// connections still open are closed (as when a daemon goes down) and
// Serve waits for the handlers to return.
func Serve(t testing.TB, ln net.Listener, handle func(net.Conn)) (stop func()) {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns = map[net.Conn]bool{}
		once  sync.Once
	)
	stop = func() {
		once.Do(func() {
			ln.Close()
			mu.Lock()
			for nc := range conns {
				nc.Close()
			}
			mu.Unlock()
			wg.Wait()
		})
	}
	t.Cleanup(stop)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns[nc] = true
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() {
					mu.Lock()
					delete(conns, nc)
					mu.Unlock()
					nc.Close()
				}()
				handle(nc)
			}()
		}
	}()
	return stop
}

// ServeProto serves a fake Postern service on the Unix socket path: handle
// gets each connection after the greeting for service and version. It
// stops as Serve does.
func ServeProto(t testing.TB, path, service string, version int, handle func(*proto.Conn)) (stop func()) {
	t.Helper()
	return Serve(t, ListenUnix(t, path), func(nc net.Conn) {
		c, err := proto.Accept(nc, service, version)
		if err != nil {
			return
		}
		handle(c)
	})
}

// RunServer runs serve, a daemon's serving loop, on a listener on the
// Unix socket path until the test ends; then it cancels serve's context,
// waits for it to return and fails the test if it returned an error.
// Register what must happen after the stop (an agent's Close) with
// t.Cleanup before calling RunServer.
func RunServer(t testing.TB, path string, serve func(ctx context.Context, lns []net.Listener) error) {
	t.Helper()
	ln := ListenUnix(t, path)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, []net.Listener{ln}) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve on %s: %v", path, err)
		}
	})
}

// DialDeliver connects to the delivery agent at path, as qmgr does; the
// connection is closed when the test ends (before a server that
// RunServer started earlier stops).
func DialDeliver(t testing.TB, path string) *proto.DeliverClient {
	t.Helper()
	c, err := proto.DialDeliver(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// WriteQueueFile writes a message into queue q of l, as cleanup or
// postdrop would, and returns its queue ID. The recipients are env's.
func WriteQueueFile(t testing.TB, l *queue.Layout, q string, env *queue.Envelope, content string) string {
	t.Helper()
	w, err := l.NewWriter(q)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	w.SetEnvelope(env)
	if _, err := io.WriteString(w, content); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	return w.ID()
}
