package maps

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"sync"
	"sync/atomic"
	"time"
)

// unavailable stands in for a table whose file is missing or unreadable
// when a daemon opens it (an /etc/aliases.db nobody built yet, say). Like
// Postfix's surrogate tables, it does not stop the daemon: every lookup
// fails temporarily (mail defers, SMTP answers 4xx) and a warning says
// why, and the table is opened for real as soon as the file can be read.
type unavailable struct {
	spec string
	opt  Options
	mu   sync.Mutex
	err  error
	next time.Time
	real atomic.Pointer[Table]
}

// retryOpen is how often a lookup may try to open the missing table again.
const retryOpen = time.Second

func isUnavailable(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission)
}

func newUnavailable(spec string, opt Options, err error) *unavailable {
	u := &unavailable{spec: spec, opt: opt, err: err, next: time.Now().Add(retryOpen)}
	opt.warnf("%s is unavailable: %v", spec, err)
	return u
}

func (u *unavailable) Name() string { return u.spec }

func (u *unavailable) Lookup(ctx context.Context, key string) (string, bool, error) {
	if t := u.real.Load(); t != nil {
		return (*t).Lookup(ctx, key)
	}
	u.mu.Lock()
	if t := u.real.Load(); t != nil {
		u.mu.Unlock()
		return (*t).Lookup(ctx, key)
	}
	if time.Now().After(u.next) {
		u.next = time.Now().Add(retryOpen)
		t, err := openUncached(u.spec, u.opt)
		if err == nil {
			u.real.Store(&t)
			u.mu.Unlock()
			return t.Lookup(ctx, key)
		}
		u.err = err
	}
	err := u.err
	u.mu.Unlock()
	return "", false, fmt.Errorf("%s is unavailable: %w", u.spec, err)
}
