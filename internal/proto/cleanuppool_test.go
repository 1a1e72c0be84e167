package proto

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/dsn"
)

// poolServer is a cleanup service that counts its connections. Each
// message gets queue ID "Q<sender>"; a sender "refuse" is refused at once.
type poolServer struct {
	accepted atomic.Int32
	ended    atomic.Int32 // connections the client closed between messages
	aborted  atomic.Int32 // messages whose content did not end
	hangUp   atomic.Bool  // close each connection after one message
	wg       sync.WaitGroup
}

func startPoolServer(t testing.TB, path string) *poolServer {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	s := &poolServer{}
	t.Cleanup(func() { ln.Close(); s.wg.Wait() })
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			s.accepted.Add(1)
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer nc.Close()
				c, err := Accept(nc, ServiceCleanup, VersionCleanup)
				if err == nil {
					s.serve(&CleanupServer{C: c})
				}
			}()
		}
	}()
	return s
}

func (s *poolServer) serve(srv *CleanupServer) {
	for {
		o, err := srv.Next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				s.ended.Add(1)
			}
			return
		}
		if o.Sender == "refuse" {
			srv.Opened(CleanupOpened{Status: dsn.Perm("5.7.1", "go away")})
			continue
		}
		id := "Q" + o.Sender
		srv.Opened(CleanupOpened{QueueID: id})
		if _, err := io.ReadAll(srv.Content()); err != nil {
			s.aborted.Add(1)
			return
		}
		if srv.Done(CleanupResult{QueueID: id}) != nil || s.hangUp.Load() {
			return
		}
	}
}

func submitTo(t *testing.T, p *CleanupPool, sender string) error {
	t.Helper()
	res, err := p.Submit(context.Background(), &CleanupOpen{Sender: sender, Recipients: []Rcpt{{Addr: "x@y.test"}}}, strings.NewReader("Subject: x\n\nbody\n"))
	if err == nil && res.QueueID != "Q"+sender {
		t.Errorf("queue ID %q, want Q%s", res.QueueID, sender)
	}
	return err
}

// waitCount polls n until it is want.
func waitCount(t *testing.T, what string, n *atomic.Int32, want int32) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for n.Load() != want {
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d, want %d", what, n.Load(), want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestPoolReusesConnections(t *testing.T) {
	path := filepath.Join(t.TempDir(), "public", "cleanup")
	srv := startPoolServer(t, path)
	p := NewCleanupPool(2, path)
	defer p.Close()
	for _, s := range []string{"a", "b", "refuse", "c"} {
		err := submitTo(t, p, s)
		var st *dsn.Status
		if s == "refuse" {
			if !errors.As(err, &st) || st.Enhanced != "5.7.1" {
				t.Errorf("refusal: %v", err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("submit %s: %v", s, err)
		}
	}
	if n := srv.accepted.Load(); n != 1 {
		t.Errorf("%d connections for four messages, want 1 (a refusal keeps it in step)", n)
	}
	p.Close()
	waitCount(t, "connections closed", &srv.ended, 1)
}

// A connection that a restarted cleanup closed is dialed again, once.
func TestPoolRedialsStaleConnection(t *testing.T) {
	path := filepath.Join(t.TempDir(), "public", "cleanup")
	srv := startPoolServer(t, path)
	srv.hangUp.Store(true)
	p := NewCleanupPool(2, path)
	defer p.Close()
	for _, s := range []string{"a", "b", "c"} {
		if err := submitTo(t, p, s); err != nil {
			t.Fatalf("submit %s: %v", s, err)
		}
	}
	if n := srv.accepted.Load(); n != 3 {
		t.Errorf("%d connections, want 3", n)
	}
}

// At most maxIdle connections are kept; the rest are closed.
func TestPoolKeepsAtMostMaxIdle(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cleanup")
	srv := startPoolServer(t, path)
	p := NewCleanupPool(1, path)
	defer p.Close()
	ctx := context.Background()
	var subs []*PooledSubmission
	for _, s := range []string{"a", "b", "c"} {
		sub, err := p.Open(ctx, &CleanupOpen{Sender: s})
		if err != nil {
			t.Fatal(err)
		}
		if sub.ID() != "Q"+s {
			t.Errorf("ID %q", sub.ID())
		}
		subs = append(subs, sub)
	}
	for _, sub := range subs {
		if _, err := sub.Finish(ctx); err != nil {
			t.Fatal(err)
		}
	}
	waitCount(t, "connections closed", &srv.ended, 2)
	if _, err := subs[0].Finish(ctx); err == nil {
		t.Error("second Finish accepted")
	}
}

// Abort drops the message and its connection.
func TestPoolAbort(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cleanup")
	srv := startPoolServer(t, path)
	p := NewCleanupPool(2, path)
	defer p.Close()
	sub, err := p.Open(context.Background(), &CleanupOpen{Sender: "a"})
	if err != nil {
		t.Fatal(err)
	}
	sub.Write([]byte("Subject: half"))
	sub.Abort()
	sub.Abort()
	waitCount(t, "aborted messages", &srv.aborted, 1)
	if err := submitTo(t, p, "b"); err != nil {
		t.Fatal(err)
	}
	if n := srv.accepted.Load(); n != 2 {
		t.Errorf("%d connections, want 2", n)
	}
}

// The paths are tried in order, each also in the other class.
func TestPoolPaths(t *testing.T) {
	q := t.TempDir()
	startPoolServer(t, filepath.Join(q, "private", "cleanup"))
	for _, paths := range [][]string{
		{filepath.Join(q, "public", "cleanup")}, // DialCleanup finds private/
		{filepath.Join(q, "elsewhere"), filepath.Join(q, "private", "cleanup")},
	} {
		p := NewCleanupPool(2, paths...)
		if err := submitTo(t, p, "a"); err != nil {
			t.Errorf("paths %q: %v", paths, err)
		}
		p.Close()
	}
	p := NewCleanupPool(2, filepath.Join(q, "first"), filepath.Join(q, "second"))
	err := submitTo(t, p, "a")
	if err == nil || !strings.Contains(err.Error(), "first") {
		t.Errorf("no cleanup anywhere: %v, want the first path's error", err)
	}
	if err := submitTo(t, NewCleanupPool(2), "a"); err == nil {
		t.Error("a pool without paths submitted")
	}
}

// BenchmarkCleanupSubmit compares a message over a pooled connection with
// one over a connection of its own (what local's forwarding did):
//
//	go test -run '^$' -bench CleanupSubmit ./internal/proto/
func BenchmarkCleanupSubmit(b *testing.B) {
	path := filepath.Join(b.TempDir(), "cleanup")
	startPoolServer(b, path)
	content := strings.Repeat("x", 4000) + "\n"
	o := &CleanupOpen{Sender: "a", Recipients: []Rcpt{{Addr: "x@y.test"}}}
	ctx := context.Background()
	b.Run("pooled", func(b *testing.B) {
		p := NewCleanupPool(1, path)
		defer p.Close()
		for range b.N {
			if _, err := p.Submit(ctx, o, strings.NewReader(content)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("dial-each", func(b *testing.B) {
		for range b.N {
			cl, err := DialCleanup(ctx, path)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := cl.Submit(ctx, o, strings.NewReader(content)); err != nil {
				b.Fatal(err)
			}
			cl.Close()
		}
	})
}
