package proto

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/dsn"
)

// serve runs a one-connection server on a Unix socket.
func serve(t *testing.T, service string, version int, handle func(*Conn)) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer nc.Close()
				c, err := Accept(nc, service, version)
				if err != nil {
					return
				}
				handle(c)
			}()
		}
	}()
	return path
}

func TestCleanupRoundTrip(t *testing.T) {
	content := strings.Repeat("line of text\r\n", 20000) // several chunks
	path := serve(t, ServiceCleanup, VersionCleanup, func(c *Conn) {
		s := &CleanupServer{C: c}
		for {
			o, err := s.Next()
			if err != nil {
				return
			}
			s.Opened(CleanupOpened{QueueID: "Q" + o.Sender})
			data, err := io.ReadAll(s.Content())
			if err != nil {
				return
			}
			if string(data) != content {
				s.Done(CleanupResult{QueueID: "Q" + o.Sender, Status: dsn.Temp("4.3.0", "content mismatch")})
				continue
			}
			s.Done(CleanupResult{QueueID: "Q" + o.Sender})
		}
	})
	ctx := context.Background()
	cl, err := DialCleanup(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	for _, sender := range []string{"a", "b"} { // two messages on one connection
		res, err := cl.Submit(ctx, &CleanupOpen{Sender: sender, Recipients: []Rcpt{{Addr: "x@y"}}}, strings.NewReader(content))
		if err != nil {
			t.Fatalf("submit %s: %v", sender, err)
		}
		if res.QueueID != "Q"+sender {
			t.Errorf("queue ID %q", res.QueueID)
		}
	}
}

func TestRefusalComesBackAsStatus(t *testing.T) {
	path := serve(t, ServiceCleanup, VersionCleanup, func(c *Conn) {
		s := &CleanupServer{C: c}
		if _, err := s.Next(); err != nil {
			return
		}
		s.Opened(CleanupOpened{Status: dsn.New(452, "4.3.1", "Insufficient system storage")})
	})
	cl, err := DialCleanup(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	_, err = cl.Open(context.Background(), &CleanupOpen{})
	var st *dsn.Status
	if !errors.As(err, &st) || st.String() != "452 4.3.1 Insufficient system storage" {
		t.Fatalf("got %v", err)
	}
}

func TestWrongServiceIsRefused(t *testing.T) {
	path := serve(t, ServiceQmgr, VersionQmgr, func(c *Conn) {})
	_, err := DialCleanup(context.Background(), path)
	if err == nil || !strings.Contains(err.Error(), "not served here") {
		t.Fatalf("got %v", err)
	}
}

func TestOversizedFrameIsRejected(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	go func() {
		var hdr [5]byte
		hdr[0] = 'J'
		binary.BigEndian.PutUint32(hdr[1:], MaxMessage+1)
		a.Write(hdr[:])
	}()
	c := NewConn(b)
	var v map[string]any
	if err := c.Recv(&v); !errors.Is(err, ErrProtocol) {
		t.Fatalf("got %v, want a protocol error", err)
	}
}

func TestDeadline(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	c := NewConn(b)
	c.Timeout = 50 * time.Millisecond
	var v map[string]any
	start := time.Now()
	err := c.Recv(&v)
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("got %v, want a timeout", err)
	}
	if time.Since(start) > 2*time.Second {
		t.Fatal("deadline not applied")
	}
}

func FuzzReadFrames(f *testing.F) {
	f.Add([]byte("J\x00\x00\x00\x02{}"))
	f.Add([]byte("D\x00\x00\x00\x03abcZ\x00\x00\x00\x00"))
	f.Add([]byte("X\x00\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		a, b := net.Pipe()
		defer b.Close()
		go func() { a.Write(data); a.Close() }()
		c := NewConn(b)
		var v map[string]any
		if err := c.Recv(&v); err != nil {
			return
		}
		io.Copy(io.Discard, c.ContentReader())
	})
}
