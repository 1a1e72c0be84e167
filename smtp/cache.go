package smtp

import (
	"sync"
	"time"
)

// connCache keeps idle sessions after a delivery, by destination, so the
// next request for the same next hop skips DNS, connect, greeting, EHLO
// and TLS. A session waits at most the idle limit; it is used only by one
// delivery at a time (get takes it out).
type connCache struct {
	mu     sync.Mutex
	idle   map[string][]*session
	limit  time.Duration
	closed bool
	quit   func(*session) // ends a session nobody will use
}

func newConnCache(limit time.Duration, quit func(*session)) *connCache {
	return &connCache{idle: make(map[string][]*session), limit: limit, quit: quit}
}

// get takes an idle session for key, the most recently used first.
func (c *connCache) get(key string) *session {
	c.mu.Lock()
	list := c.idle[key]
	if len(list) == 0 {
		c.mu.Unlock()
		return nil
	}
	s := list[len(list)-1]
	list[len(list)-1] = nil
	if len(list) == 1 {
		delete(c.idle, key)
	} else {
		c.idle[key] = list[:len(list)-1]
	}
	c.mu.Unlock()
	s.timer.Stop()
	return s
}

// put keeps s for reuse under key.
func (c *connCache) put(key string, s *session) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		c.quit(s)
		return
	}
	s.key = key
	c.idle[key] = append(c.idle[key], s)
	s.timer = time.AfterFunc(c.limit, func() { c.expire(s) })
	c.mu.Unlock()
}

// expire ends s if it is still idle.
func (c *connCache) expire(s *session) {
	c.mu.Lock()
	list := c.idle[s.key]
	for i, x := range list {
		if x == s {
			list = append(list[:i], list[i+1:]...)
			if len(list) == 0 {
				delete(c.idle, s.key)
			} else {
				c.idle[s.key] = list
			}
			c.mu.Unlock()
			c.quit(s)
			return
		}
	}
	c.mu.Unlock()
}

// size is the number of idle sessions.
func (c *connCache) size() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, l := range c.idle {
		n += len(l)
	}
	return n
}

// close ends every idle session; later puts end theirs at once.
func (c *connCache) close() {
	c.mu.Lock()
	c.closed = true
	var all []*session
	for _, l := range c.idle {
		all = append(all, l...)
	}
	c.idle = make(map[string][]*session)
	c.mu.Unlock()
	for _, s := range all {
		s.timer.Stop()
		c.quit(s)
	}
}
