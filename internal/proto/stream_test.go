package proto

import (
	"context"
	"io"
	"testing"
)

// A submission over two pipes, the way sendmail talks to postdrop.
func TestStreamSubmission(t *testing.T) {
	toServerR, toServerW := io.Pipe()
	toClientR, toClientW := io.Pipe()
	done := make(chan error, 1)
	go func() {
		srv := CleanupServer{C: NewStreamConn(toServerR, toClientW)}
		o, err := srv.Next()
		if err != nil {
			done <- err
			return
		}
		if o.Sender != "alice" {
			t.Errorf("sender %q", o.Sender)
		}
		if err := srv.Opened(CleanupOpened{QueueID: "ID1"}); err != nil {
			done <- err
			return
		}
		b, err := io.ReadAll(srv.Content())
		if err != nil {
			done <- err
			return
		}
		if string(b) != "Subject: x\n\nbody\n" {
			t.Errorf("content %q", b)
		}
		done <- srv.Done(CleanupResult{QueueID: "ID1"})
	}()
	cl := NewCleanupClient(NewStreamConn(toClientR, toServerW))
	s, err := cl.Open(context.Background(), &CleanupOpen{Source: "sendmail", Sender: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	if s.ID != "ID1" {
		t.Fatalf("ID %q", s.ID)
	}
	io.WriteString(s, "Subject: x\n\nbody\n")
	r, err := s.Finish(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if r.QueueID != "ID1" {
		t.Fatalf("result %+v", r)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := cl.Close(); err != nil {
		t.Fatal(err)
	}
}
