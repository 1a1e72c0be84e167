package qmgr

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// lockActive waits until this qmgr is the only one working on the active
// queue: an exclusive flock on the active/ directory, held until the
// process exits (the kernel drops it even after kill -9).
//
// A reload starts the new qmgr beside the old one, which finishes the
// deliveries under way. Were the new one to move active/ back to
// incoming/ meanwhile (recover), the old one could activate those
// messages again and deliver them twice, and the messages it finishes
// while stopping would stay in active/ until the next restart. So the new
// qmgr waits, here, for the old one to exit before it recovers.
func lockActive(ctx context.Context, dir string) (*os.File, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("open the active queue %s: %w", dir, err)
	}
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, unix.EWOULDBLOCK) && !errors.Is(err, unix.EINTR) {
			f.Close()
			return nil, fmt.Errorf("lock the active queue %s: %w", dir, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}
