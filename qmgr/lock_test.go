package qmgr

import (
	"context"
	"errors"
	"testing"
	"time"
)

// A second qmgr waits for the first to let go of the active queue.
func TestLockActiveOneAtATime(t *testing.T) {
	dir := t.TempDir()
	first, err := lockActive(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := lockActive(ctx, dir); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second lock while the first is held: %v, want to wait until the deadline", err)
	}
	got := make(chan error, 1)
	go func() {
		f, err := lockActive(context.Background(), dir)
		if err == nil {
			f.Close()
		}
		got <- err
	}()
	first.Close() // the first qmgr exits
	select {
	case err := <-got:
		if err != nil {
			t.Fatalf("lock after the first was released: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the second qmgr still waits after the first let go")
	}
	if _, err := lockActive(context.Background(), dir+"/missing"); err == nil {
		t.Error("locking a missing directory succeeded")
	}
}
