package privexec

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// Runner runs ops in helper processes, keeping idle helpers for reuse. The
// zero Runner is ready: it starts "ThisBinary privexec". A Runner is safe
// for concurrent use; Close ends its idle helpers.
type Runner struct {
	// Exe and Args start a helper: "postern privexec" by default, the
	// very binary this process runs (/proc/self/exe, which stays the old
	// file during an upgrade, so a helper is never of another version).
	// Tests point them at the test binary.
	Exe  string
	Args []string
	// Env is the helpers' environment; nil gives PATH=/usr/bin:/bin and
	// the caller's TZ.
	Env []string
	// Stderr receives what helpers write there (nothing, normally: a Go
	// panic). Nil discards it.
	Stderr io.Writer
	// Idle is how long an idle helper is kept for reuse; 0 means 5s,
	// negative means never reuse.
	Idle time.Duration
	// MaxIdle is the most idle helpers kept per credential; 0 means 4.
	MaxIdle int

	mu     sync.Mutex
	idle   map[string][]*helper
	timer  *time.Timer
	closed bool
	// started counts helpers started, for tests and measurements.
	started int
}

// DefaultIdle is how long an idle helper is kept when Runner.Idle is 0.
const DefaultIdle = 5 * time.Second

func (r *Runner) exe() (string, []string) {
	if r.Exe != "" {
		return r.Exe, r.Args
	}
	exe := "/proc/self/exe"
	if _, err := os.Stat(exe); err != nil {
		if exe, err = os.Executable(); err != nil {
			exe = os.Args[0]
		}
	}
	return exe, []string{"privexec"}
}

func (r *Runner) env() []string {
	if r.Env != nil {
		return r.Env
	}
	env := []string{"PATH=/usr/bin:/bin"}
	if tz, ok := os.LookupEnv("TZ"); ok {
		env = append(env, "TZ="+tz)
	}
	return env
}

func (r *Runner) idleTime() time.Duration {
	if r.Idle == 0 {
		return DefaultIdle
	}
	return r.Idle
}

// Started returns how many helper processes the Runner has started.
func (r *Runner) Started() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.started
}

// Do runs op with cred (nil: as the caller) and params (marshalled to JSON),
// streaming content to it, and returns its Result. limit bounds the whole
// step (0: one hour); ctx may end it sooner. An error means the op could
// not run to the end: it is temporary.
func (r *Runner) Do(ctx context.Context, cred *Cred, op string, params any, content io.Reader, limit time.Duration) (*Result, error) {
	p, err := json.Marshal(params)
	if err != nil {
		return nil, fmt.Errorf("encode %s parameters: %w", op, err)
	}
	if limit <= 0 {
		limit = time.Hour
	}
	deadline := time.Now().Add(limit)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	req := &request{Op: op, Params: p, Deadline: deadline}
	for {
		h, reused, err := r.get(cred)
		if err != nil {
			return nil, err
		}
		res, err := h.call(ctx, req, content)
		if err == nil {
			r.put(h)
			return res, nil
		}
		h.kill()
		if reused && errors.Is(err, errGone) {
			continue // it died while idle and never saw the request
		}
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) {
			return nil, fmt.Errorf("%s as %s: time limit of %s exceeded", op, cred, limit.Round(time.Millisecond))
		}
		return nil, fmt.Errorf("%s as %s: %w", op, cred, err)
	}
}

// get returns an idle helper for cred, or starts one.
func (r *Runner) get(cred *Cred) (*helper, bool, error) {
	key := cred.key()
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil, false, errors.New("privexec runner is closed")
	}
	for list := r.idle[key]; len(list) > 0; list = r.idle[key] {
		h := list[len(list)-1]
		r.idle[key] = list[:len(list)-1]
		if h.alive() {
			r.mu.Unlock()
			return h, true, nil
		}
		h.kill()
	}
	r.started++
	r.mu.Unlock()
	h, err := r.startHelper(cred)
	return h, false, err
}

// put keeps a helper that finished a request cleanly for reuse, or ends it.
func (r *Runner) put(h *helper) {
	r.mu.Lock()
	defer r.mu.Unlock()
	maxIdle := r.MaxIdle
	if maxIdle <= 0 {
		maxIdle = 4
	}
	if r.closed || r.idleTime() < 0 || len(r.idle[h.key]) >= maxIdle || !h.alive() {
		h.close()
		return
	}
	if r.idle == nil {
		r.idle = map[string][]*helper{}
	}
	h.used = time.Now()
	r.idle[h.key] = append(r.idle[h.key], h)
	if r.timer == nil {
		r.timer = time.AfterFunc(r.idleTime(), r.reap)
	}
}

// reap ends helpers idle for longer than Idle and schedules itself again
// while some remain.
func (r *Runner) reap() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.timer = nil
	if r.closed {
		return
	}
	idle := r.idleTime()
	now := time.Now()
	next := time.Duration(-1)
	for key, list := range r.idle {
		kept := list[:0]
		for _, h := range list {
			age := now.Sub(h.used)
			if age >= idle || !h.alive() {
				h.close()
				continue
			}
			kept = append(kept, h)
			if left := idle - age; next < 0 || left < next {
				next = left
			}
		}
		if len(kept) == 0 {
			delete(r.idle, key)
		} else {
			r.idle[key] = kept
		}
	}
	if next >= 0 {
		r.timer = time.AfterFunc(next, r.reap)
	}
}

// Close ends every idle helper and makes later calls fail. Helpers busy at
// the time end when their call returns.
func (r *Runner) Close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	if r.timer != nil {
		r.timer.Stop()
		r.timer = nil
	}
	for _, list := range r.idle {
		for _, h := range list {
			h.close()
		}
	}
	r.idle = nil
}
