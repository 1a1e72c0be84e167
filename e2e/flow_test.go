package e2e

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/postern-mta/postern/internal/mtatest"
)

// flow is mail flowing into an instance: n messages, each with its own
// marker, sent by several SMTP clients at once. The clients behave as
// real ones do: a message that gets a temporary failure or loses its
// connection is sent again on a new session. A message is acknowledged
// once the server said "250 … queued as": from then on the server must
// deliver it.
//
// The test lets messages go in batches (allow), so that it can do
// something — reload, kill -9 — while a batch is under way.
type flow struct {
	n int

	mu      sync.Mutex
	cond    *sync.Cond
	allowed int             // messages the clients may send so far
	next    int             // next message to hand to a client
	acked   map[string]bool // acknowledged markers
	retries int
	lastErr string
	failed  []string // permanent failures: "marker: reply"
	stop    bool

	wg sync.WaitGroup
}

// startFlow starts clients sessions sending n messages from alice to rcpt
// through addr. Nothing is sent before allow.
func startFlow(t *testing.T, addr, rcpt string, n, clients int) *flow {
	t.Helper()
	f := &flow{n: n, acked: map[string]bool{}}
	f.cond = sync.NewCond(&f.mu)
	for range clients {
		f.wg.Add(1)
		go f.client(addr, rcpt)
	}
	t.Cleanup(func() {
		f.mu.Lock()
		f.stop = true
		f.cond.Broadcast()
		f.mu.Unlock()
		f.wg.Wait()
	})
	return f
}

func marker(i int) string { return fmt.Sprintf("m%03d", i) }

// flowMessage is the message carrying marker.
func flowMessage(mk string) string {
	return "From: alice@client.example.test\r\nTo: flow@remote.test\r\nSubject: flow " + mk +
		"\r\nMessage-ID: <" + mk + "@client.example.test>\r\n\r\nmarker " + mk + "\r\n"
}

// take waits for a message the client may send; false when there is
// none left or the test is over.
func (f *flow) take() (string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for f.next >= f.allowed && f.next < f.n && !f.stop {
		f.cond.Wait()
	}
	if f.stop || f.next >= f.n {
		return "", false
	}
	f.next++
	return marker(f.next - 1), true
}

func (f *flow) client(addr, rcpt string) {
	defer f.wg.Done()
	var c *smtp.Client
	defer func() {
		if c != nil {
			c.Quit()
			c.Close()
		}
	}()
	for {
		mk, ok := f.take()
		if !ok {
			return
		}
		deadline := time.Now().Add(30 * time.Second)
		for {
			if f.stopped() {
				return
			}
			if time.Now().After(deadline) {
				f.fail(mk, "still not accepted after 30s: "+f.last())
				break
			}
			if c == nil {
				nc, err := connect(addr)
				if err != nil {
					f.retry(err)
					continue
				}
				c = nc
			}
			err := mtatest.SendOn(c, "alice@client.example.test", []string{rcpt}, flowMessage(mk))
			if err == nil {
				f.ack(mk)
				break
			}
			if se := (*smtp.SMTPError)(nil); errors.As(err, &se) && se.Code >= 500 {
				f.fail(mk, reply(err))
				break
			}
			// A temporary failure or a lost connection: start over on a
			// new session, as a client does.
			c.Close()
			c = nil
			f.retry(err)
		}
	}
}

func (f *flow) stopped() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.stop
}

func (f *flow) ack(mk string) {
	f.mu.Lock()
	f.acked[mk] = true
	f.mu.Unlock()
}

func (f *flow) fail(mk, why string) {
	f.mu.Lock()
	f.failed = append(f.failed, mk+": "+why)
	f.mu.Unlock()
}

// retry notes a failed attempt and paces the next one.
func (f *flow) retry(err error) {
	f.mu.Lock()
	f.retries++
	f.lastErr = reply(err)
	f.mu.Unlock()
	time.Sleep(20 * time.Millisecond)
}

func (f *flow) last() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lastErr
}

// allow lets the clients send the first k messages.
func (f *flow) allow(k int) {
	f.mu.Lock()
	f.allowed = min(k, f.n)
	f.cond.Broadcast()
	f.mu.Unlock()
}

// ackedCount is how many messages were acknowledged so far.
func (f *flow) ackedCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.acked)
}

// waitAcked waits until k messages were acknowledged.
func (f *flow) waitAcked(t *testing.T, k int) {
	t.Helper()
	mtatest.WaitFor(t, 30*time.Second, fmt.Sprintf("%d messages acknowledged", k), func() bool {
		f.mu.Lock()
		failed, n := append([]string(nil), f.failed...), len(f.acked)
		f.mu.Unlock()
		if len(failed) > 0 {
			t.Fatalf("messages refused for good: %v", failed)
		}
		return n >= k
	})
}

// delivered counts, by marker, the copies of flow messages the sinks got.
func delivered(sinks ...*mtatest.Sink) map[string]int {
	got := map[string]int{}
	for _, s := range sinks {
		for _, m := range s.Messages() {
			if k := markerRE.FindSubmatch(m.Data); k != nil {
				got[string(k[1])]++
			}
		}
	}
	return got
}

var markerRE = regexp.MustCompile(`\nmarker (m\d+)\r\n`)

// checkNothingLost waits until every message of the flow was
// acknowledged, every acknowledged one reached a sink and the queue is
// empty, then reports duplicates (a crash may deliver a message twice,
// never zero times) and returns how many there were.
func (f *flow) checkNothingLost(t *testing.T, in *mtatest.Instance, sinks ...*mtatest.Sink) int {
	t.Helper()
	f.waitAcked(t, f.n)
	f.mu.Lock()
	acked := len(f.acked)
	retries, lastErr := f.retries, f.lastErr
	f.mu.Unlock()
	for deadline := time.Now().Add(30 * time.Second); ; {
		got := delivered(sinks...)
		var missing []string
		for i := range f.n {
			if got[marker(i)] == 0 {
				missing = append(missing, marker(i))
			}
		}
		queued := queueFiles(in)
		if len(missing) == 0 && queued == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 30s, %d acknowledged messages have not reached the sink (%v) and %d are still queued", len(missing), missing, queued)
		}
		time.Sleep(20 * time.Millisecond)
	}
	dups := 0
	for mk, n := range delivered(sinks...) {
		if mk >= marker(f.n) {
			t.Errorf("%s was delivered but never sent", mk)
		}
		dups += n - 1
	}
	t.Logf("%d messages acknowledged and delivered, %d duplicates; %d client retries (last: %s)", acked, dups, retries, lastErr)
	return dups
}

// queueFiles counts the messages waiting in incoming, active and
// deferred.
func queueFiles(in *mtatest.Instance) int {
	n := 0
	for _, q := range []string{"incoming", "active", "deferred"} {
		filepath.WalkDir(filepath.Join(in.QueueDir, q), func(_ string, d os.DirEntry, err error) error {
			if err == nil && d.Type().IsRegular() {
				n++
			}
			return nil
		})
	}
	return n
}
