package postsuper

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"slices"

	"github.com/postern-mta/postern/queue"
)

// Every operation on a named message finds it, then acts; when the file
// moved in between (qmgr took it from incoming to active, say), it looks
// once more, as Postfix does. A message not found is not an error: it was
// delivered, or never existed, and the summary says "0 messages".

const tries = 2

// only keeps the queues of qs that are in allowed, in qs's order.
func only(qs, allowed []string) []string {
	var out []string
	for _, q := range qs {
		if slices.Contains(allowed, q) {
			out = append(out, q)
		}
	}
	return out
}

// find looks for id in queues; ok is false when it is in none of them.
func (s *Super) find(id string, queues []string) (q, path string, ok bool) {
	if len(queues) == 0 {
		return "", "", false
	}
	q, path, err := s.l.Find(id, queues...)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			s.warnf("%v", err)
		}
		return "", "", false
	}
	return q, path, true
}

// deleteOne removes a message and its logs. Its logs go first, and only
// when the message file exists, which narrows the window in which a
// message delivered meanwhile and an ID used again could mix.
func (s *Super) deleteOne(_ context.Context, id string, queues []string) bool {
	queues = only(queues, deleteQueues)
	for range tries {
		_, path, ok := s.find(id, queues)
		if !ok {
			return false
		}
		s.removeLogs(id)
		err := os.Remove(path)
		if err == nil {
			s.infof("%s: removed", id)
			return true
		}
		if !errors.Is(err, fs.ErrNotExist) {
			s.warnf("remove %s: %v", path, err)
			return false
		}
	}
	return false
}

// removeLogs removes a message's bounce, defer and trace logs.
func (s *Super) removeLogs(id string) {
	for _, lq := range logQueues {
		if err := s.l.RemoveLog(lq, id); err != nil {
			s.warnf("%s: %v", id, err)
		}
	}
}

// deleteAll removes every message of the queues (and their logs); in
// corrupt/, every file.
func (s *Super) deleteAll(_ context.Context, queues []string) {
	for _, q := range queues {
		if q == queue.Corrupt {
			s.deleteCorrupt()
			continue
		}
		if !slices.Contains(deleteQueues, q) {
			continue
		}
		s.walk(q, func(id, path string) {
			s.removeLogs(id)
			if err := os.Remove(path); err == nil {
				s.deleted++
			} else if !errors.Is(err, fs.ErrNotExist) {
				s.warnf("remove %s: %v", path, err)
			}
		})
	}
}

// deleteCorrupt empties corrupt/, whose files need not have valid names.
func (s *Super) deleteCorrupt() {
	dir := s.l.Dir(queue.Corrupt)
	ents, err := os.ReadDir(dir)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			s.warnf("scan %s: %v", dir, err)
		}
		return
	}
	for _, e := range ents {
		if e.Type().IsRegular() {
			if err := os.Remove(dir + "/" + e.Name()); err == nil {
				s.deleted++
			}
		}
	}
}

// walk calls fn for every message of queue q; a failure to scan is a
// warning.
func (s *Super) walk(q string, fn func(id, path string)) {
	err := s.l.Walk(q, func(id, path string) error {
		fn(id, path)
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		s.warnf("%v", err)
	}
}

// holdOne moves a message to hold/, where qmgr never looks. A message in
// active/ is being delivered: qmgr keeps its open file, finishes the
// deliveries under way (their results are marked in the file, which is
// now in hold/), and finds the file gone when it wants to move it on. The
// logs stay, as in Postfix.
func (s *Super) holdOne(_ context.Context, id string, queues []string) bool {
	queues = only(queues, holdQueues)
	for range tries {
		q, _, ok := s.find(id, queues)
		if !ok {
			return false
		}
		err := s.l.Move(id, q, queue.Hold)
		if err == nil {
			s.infof("%s: placed on hold", id)
			return true
		}
		if !errors.Is(err, fs.ErrNotExist) {
			s.warnf("%v", err)
			return false
		}
	}
	return false
}

func (s *Super) holdAll(_ context.Context, queues []string) {
	for _, q := range only(queues, holdQueues) {
		s.walk(q, func(id, _ string) {
			if err := s.l.Move(id, q, queue.Hold); err == nil {
				s.held++
			} else if !errors.Is(err, fs.ErrNotExist) {
				s.warnf("%v", err)
			}
		})
	}
}

// releaseOne moves a message from hold/ to deferred/, due at once.
func (s *Super) releaseOne(_ context.Context, id string, queues []string) bool {
	if !slices.Contains(queues, queue.Hold) {
		return false
	}
	if !s.release(id) {
		return false
	}
	s.infof("%s: released from hold", id)
	return true
}

func (s *Super) releaseAll(_ context.Context, queues []string) {
	if !slices.Contains(queues, queue.Hold) {
		return
	}
	s.walk(queue.Hold, func(id, _ string) {
		if s.release(id) {
			s.released++
		}
	})
}

// release moves id from hold to deferred and makes it due now.
func (s *Super) release(id string) bool {
	if err := s.l.Move(id, queue.Hold, queue.Deferred); err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			s.warnf("%v", err)
		}
		return false
	}
	if err := s.l.SetNextTry(s.l.Path(queue.Deferred, id), s.now()); err != nil && !errors.Is(err, fs.ErrNotExist) {
		s.warnf("%s: %v", id, err)
	}
	return true
}

// expireOne returns the -e (or, with release, -f) operation: mark the
// message force-expired, so that qmgr returns it to the sender at its
// next attempt instead of trying again. A deferred message is made due
// now; with -f a held one is released first. A held message marked with
// -e stays on hold until released.
func (s *Super) expireOne(release bool) func(context.Context, string, []string) bool {
	return func(_ context.Context, id string, queues []string) bool {
		queues = only(queues, expireQueues)
		q, path, ok := s.find(id, queues)
		if !ok {
			return false
		}
		return s.expire(id, q, path, release, true)
	}
}

func (s *Super) expireAll(release bool) func(context.Context, []string) {
	return func(_ context.Context, queues []string) {
		for _, q := range only(queues, expireQueues) {
			s.walk(q, func(id, path string) {
				if s.expire(id, q, path, release, false) {
					s.expired++
				}
			})
		}
	}
}

// expire sets the forced-expiry flag of the message at path (in queue
// q), then releases or schedules it as expireOne says.
func (s *Super) expire(id, q, path string, release, named bool) bool {
	f, err := queue.Open(path, true)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			s.warnf("%s: %v", id, err)
		}
		return false
	}
	err = f.SetFlags(f.Envelope.Flags | queue.FlagForcedExpire)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		s.warnf("%s: %v", id, err)
		return false
	}
	if named {
		s.infof("%s: expired", id)
	}
	switch {
	case q == queue.Hold && release:
		if s.release(id) {
			s.released++
			if named {
				s.infof("%s: released from hold", id)
			}
		}
	case q == queue.Deferred:
		if err := s.l.SetNextTry(path, s.now()); err != nil && !errors.Is(err, fs.ErrNotExist) {
			s.warnf("%s: %v", id, err)
		}
	}
	return true
}
