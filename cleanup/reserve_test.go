package cleanup

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/proto"
	"github.com/postern-mta/postern/queue"
)

// rawClient speaks the cleanup protocol frame by frame, to see what a
// client with a reserved queue file sends and gets.
type rawClient struct {
	t *testing.T
	c *proto.Conn
}

func dialRaw(t *testing.T, s *testServer) *rawClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := proto.Dial(ctx, s.sock, proto.ServiceCleanup, proto.VersionCleanup)
	if err != nil {
		t.Fatal(err)
	}
	c.Timeout = 10 * time.Second
	t.Cleanup(func() { c.Close() })
	return &rawClient{t: t, c: c}
}

// send sends the envelope, the content and the end in one go (reserved)
// or after the CleanupOpened answer, and returns the CleanupResult.
func (r *rawClient) send(o *proto.CleanupOpen, content string) (*proto.CleanupResult, error) {
	r.t.Helper()
	if o.Reserved == "" {
		if err := r.c.Send(o); err != nil {
			return nil, err
		}
		var op proto.CleanupOpened
		if err := r.c.Recv(&op); err != nil {
			return nil, err
		}
		if op.Status != nil {
			r.t.Fatalf("refused at open: %v", op.Status)
		}
	} else if err := r.c.Queue(o); err != nil {
		return nil, err
	}
	w := r.c.ContentWriter()
	io.WriteString(w, content) //nolint:errcheck // the result tells
	w.Close()
	if err := r.c.Flush(); err != nil {
		return nil, err
	}
	var res proto.CleanupResult
	if err := r.c.Recv(&res); err != nil {
		return nil, err
	}
	return &res, nil
}

func envelope(reserve bool, reserved string) *proto.CleanupOpen {
	return &proto.CleanupOpen{Source: "smtpd", Sender: "alice@example.test",
		Recipients: []proto.Rcpt{{Addr: "bob@example.test"}}, Reserve: reserve, Reserved: reserved}
}

// A client that asks gets a file for its next message; that message goes
// into it without the CleanupOpened round trip, arrives at the time it was
// sent, and the file left reserved at the end vanishes with the
// connection.
func TestReservedQueueFile(t *testing.T) {
	s := newTestServer(t, nil)
	r := dialRaw(t, s)
	first, err := r.send(envelope(true, ""), "Subject: one\n\nbody one\n")
	if err != nil || first.Status != nil {
		t.Fatalf("first message: %v %v", err, first)
	}
	if first.Next == "" || first.Next == first.QueueID {
		t.Fatalf("next file %q (first %q), want a new one", first.Next, first.QueueID)
	}
	if n := openNewFiles(t, s); n != 1 {
		t.Errorf("%d queue files being written, want the reserved one", n)
	}
	sent := time.Now()
	second, err := r.send(envelope(true, first.Next), "Subject: two\n\nbody two\n")
	if err != nil || second.Status != nil {
		t.Fatalf("second message: %v %v", err, second)
	}
	if second.QueueID != first.Next {
		t.Errorf("second message queued as %s, want the reserved %s", second.QueueID, first.Next)
	}
	q, f := s.queued(second.QueueID)
	if q != queue.Incoming {
		t.Errorf("queued in %s, want incoming", q)
	}
	if got := content(t, f); !strings.Contains(got, "body two") {
		t.Errorf("content %q", got)
	}
	if d := f.Envelope.Arrival.Sub(sent); d < -time.Second || d > 5*time.Second {
		t.Errorf("arrival %v, sent at %v", f.Envelope.Arrival, sent)
	}
	// No recipient: the refusal comes in the result, and the
	// connection stays in step for the next message.
	norcpt := envelope(true, second.Next)
	norcpt.Recipients = nil
	res, err := r.send(norcpt, "Subject: three\n\nbody\n")
	if err != nil || res.Status == nil || res.Status.Code != 550 {
		t.Fatalf("message without recipients: %v %+v, want 550", err, res)
	}
	if res, err = r.send(envelope(false, res.Next), "Subject: four\n\nbody\n"); err != nil || res.Status != nil || res.Next != "" {
		t.Fatalf("fourth message: %v %+v", err, res)
	}
	if n := s.countFiles(queue.Incoming); n != 3 {
		t.Errorf("%d messages in incoming, want 3", n)
	}
	if n := openNewFiles(t, s); n != 0 {
		t.Errorf("%d queue files open after a message without Reserve, want none", n)
	}
	r.c.Close()
	waitNoTemp(t, s)
}

// A reserved ID that is not the connection's own ends the connection.
func TestReservedQueueFileMismatch(t *testing.T) {
	s := newTestServer(t, nil)
	r := dialRaw(t, s)
	first, err := r.send(envelope(true, ""), "Subject: one\n\nbody\n")
	if err != nil || first.Status != nil {
		t.Fatalf("first message: %v %v", err, first)
	}
	_, err = r.send(envelope(true, first.Next+"x"), "Subject: two\n\nbody\n")
	if err == nil {
		t.Fatal("message for a queue file not reserved for it was taken")
	}
	if !strings.Contains(s.log.String(), "which is not reserved for it") {
		t.Errorf("no warning logged:\n%s", s.log.String())
	}
	if n := s.countFiles(queue.Incoming); n != 1 {
		t.Errorf("%d messages in incoming, want 1", n)
	}
}

// The pool uses reservations: message after message over one connection,
// each queued under the ID it was given before its content.
func TestPoolUsesReservedFiles(t *testing.T) {
	s := newTestServer(t, nil)
	p := proto.NewCleanupPool(1, s.sock)
	defer p.Close()
	ctx := context.Background()
	for i := range 3 {
		sub, err := p.Open(ctx, envelope(false, ""))
		if err != nil {
			t.Fatal(err)
		}
		id := sub.ID()
		io.WriteString(sub, "Subject: pooled\n\nbody\n") //nolint:errcheck // Finish tells
		res, err := sub.Finish(ctx)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if res.QueueID != id {
			t.Errorf("message %d queued as %s, announced as %s", i, res.QueueID, id)
		}
	}
	if n := s.countFiles(queue.Incoming); n != 3 {
		t.Errorf("%d messages in incoming, want 3", n)
	}
	if n := openNewFiles(t, s); n != 1 {
		t.Errorf("%d queue files being written, want one reserved for the kept connection", n)
	}
}

// openNewFiles counts the queue files being written that this process
// (the test's cleanup) holds open: unnamed ones ("incoming/#INODE
// (deleted)") or temporary ones.
func openNewFiles(t *testing.T, s *testServer) int {
	t.Helper()
	dir := filepath.Join(s.cfg.QueueDir, queue.Incoming) + "/"
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd")
	}
	n := 0
	for _, fd := range fds {
		target, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name()))
		if err == nil && strings.HasPrefix(target, dir) && !queue.ValidID(strings.TrimPrefix(target, dir)) {
			n++
		}
	}
	return n
}

// waitNoTemp waits until no queue file being written is left open: the
// reserved file of a closed connection goes with it.
func waitNoTemp(t *testing.T, s *testServer) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		left := openNewFiles(t, s)
		if left == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d queue files being written still open after the connection closed", left)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
