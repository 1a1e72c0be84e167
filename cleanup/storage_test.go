package cleanup

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/dsn"
	"github.com/postern-mta/postern/internal/proto"
	"github.com/postern-mta/postern/queue"
)

func TestStorageStatus(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{&fs.PathError{Op: "write", Path: "f", Err: syscall.ENOSPC}, "452 4.3.1 Insufficient system storage"},
		{fmt.Errorf("commit: %w", &fs.PathError{Op: "open", Path: "f", Err: syscall.EDQUOT}), "452 4.3.1 Insufficient system storage"},
		{&fs.PathError{Op: "open", Path: "f", Err: syscall.EROFS}, "452 4.3.1 Insufficient system storage"},
		{&fs.PathError{Op: "open", Path: "f", Err: syscall.EACCES}, "452 4.3.1 Insufficient system storage"},
		{&fs.PathError{Op: "open", Path: "f", Err: syscall.EIO}, "451 4.3.0 Error: queue file write error"},
		{errors.New("something else"), "451 4.3.0 Error: queue file write error"},
	} {
		if got := storageStatus(tc.err).String(); got != tc.want {
			t.Errorf("storageStatus(%v) = %s, want %s", tc.err, got, tc.want)
		}
	}
}

// mountTmpfs mounts a small tmpfs on dir for the test, or skips it.
func mountTmpfs(t *testing.T, dir string, size string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a tmpfs")
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() }) //nolint:errcheck
}

// A full or read-only queue file system is "452 4.3.1" with a warning
// that says why, and leaves nothing behind.
func TestFullQueue(t *testing.T) {
	s := newTestServer(t, nil)
	in := s.c.layout.Dir(queue.Incoming)
	mountTmpfs(t, in, "64k")
	open := func() *proto.CleanupOpen { return smtpOpen("192.0.2.7", "a@b.test", "bob@mx.example.test") }

	_, err := s.submit(open(), "Subject: big\n\n"+strings.Repeat("0123456789abcdef\n", 16<<10))
	var st *dsn.Status
	if !errors.As(err, &st) || st.String() != "452 4.3.1 Insufficient system storage" {
		t.Fatalf("full disk: %v", err)
	}
	if !strings.Contains(s.log.String(), "no space left on device") {
		t.Errorf("no cause in the log:\n%s", s.log)
	}
	if names := anyFiles(t, in); len(names) != 0 {
		t.Errorf("files left: %v", names)
	}
	// A small message still fits.
	if _, err := s.submit(open(), "Subject: small\n\nbody\n"); err != nil {
		t.Fatalf("small message: %v", err)
	}

	if out, err := exec.Command("mount", "-o", "remount,ro", in).CombinedOutput(); err != nil {
		t.Skipf("remount read-only: %v: %s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cl, err := proto.DialCleanup(ctx, s.sock)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	_, err = cl.Open(ctx, open())
	if !errors.As(err, &st) || st.String() != "452 4.3.1 Insufficient system storage" {
		t.Fatalf("read-only queue: %v", err)
	}
	if !strings.Contains(s.log.String(), "read-only file system") {
		t.Errorf("no cause in the log:\n%s", s.log)
	}
	// The connection is still usable for the next message.
	_, err = cl.Submit(ctx, open(), strings.NewReader("Subject: x\n\nbody\n"))
	if !errors.As(err, &st) || st.Code != 452 {
		t.Fatalf("second try: %v", err)
	}
}

// A client that goes away before the end of the content leaves nothing.
func TestClientVanishes(t *testing.T) {
	s := newTestServer(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cl, err := proto.DialCleanup(ctx, s.sock)
	if err != nil {
		t.Fatal(err)
	}
	sub, err := cl.Open(ctx, smtpOpen("192.0.2.7", "a@b.test", "bob@mx.example.test"))
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(sub, "Subject: half\n\n%s", strings.Repeat("data line\n", 10000))
	cl.Close()
	in := s.c.layout.Dir(queue.Incoming)
	deadline := time.Now().Add(5 * time.Second)
	for len(anyFiles(t, in)) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("files left in incoming: %v", anyFiles(t, in))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Several messages over one connection, as smtpd's pool sends them.
func TestConnectionReuse(t *testing.T) {
	s := newTestServer(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cl, err := proto.DialCleanup(ctx, s.sock)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ids := map[string]bool{}
	for i := range 5 {
		res, err := cl.Submit(ctx, smtpOpen("192.0.2.7", "a@b.test", "bob@mx.example.test"), strings.NewReader(fmt.Sprintf("Subject: %d\n\nbody\n", i)))
		if err != nil {
			t.Fatal(err)
		}
		ids[res.QueueID] = true
	}
	if len(ids) != 5 || s.countFiles(queue.Incoming) != 5 {
		t.Fatalf("%d IDs, %d files", len(ids), s.countFiles(queue.Incoming))
	}
}

// The wake-ups reach qmgr over one kept connection, and again after qmgr
// closed it.
func TestNudger(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "qmgr")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var wakeups, conns atomic.Int32
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			go func() {
				defer nc.Close()
				c, err := proto.Accept(nc, proto.ServiceQmgr, proto.VersionQmgr)
				if err != nil {
					return
				}
				for i := 0; i < 3; i++ { // then hang up, as a stopping qmgr does
					var req proto.ControlRequest
					if c.Recv(&req) != nil {
						return
					}
					wakeups.Add(1)
					c.Send(proto.ControlReply{}) //nolint:errcheck
				}
			}()
		}
	}()
	n := newNudger(sock)
	for i := 0; i < 5; i++ {
		n.send()
	}
	if wakeups.Load() != 5 || conns.Load() != 2 {
		t.Errorf("%d wake-ups over %d connections, want 5 over 2", wakeups.Load(), conns.Load())
	}
	n.conn.Close()
}
