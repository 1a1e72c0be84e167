package mtatest

import (
	"fmt"
	"io"
	"sync"
	"testing"

	"github.com/postern-mta/postern/internal/proto"
)

// Submission is one message a FakeCleanup was given.
type Submission struct {
	Open    proto.CleanupOpen
	Content string
	QueueID string
}

// FakeCleanup is a cleanup service for the tests of the programs that
// submit mail (bounce, pickup, local's forwarding, postsuper's requeue):
// it speaks cleanup's protocol on a Unix socket and records what it is
// given instead of queueing it.
type FakeCleanup struct {
	mu     sync.Mutex
	answer CleanupAnswer
	hangUp bool
	n      int
	msgs   []Submission
	stop   func()
}

// CleanupAnswer decides the fate of the n-th message (from 1). A result
// with a Status and no QueueID refuses the message before its content;
// any other result is the answer after the content (its QueueID is also
// the one announced at the start).
type CleanupAnswer func(n int, o *proto.CleanupOpen) *proto.CleanupResult

// StartCleanup serves a FakeCleanup on the Unix socket path (usually
// proto.CleanupPath of a test queue) until the test ends. A nil answer
// accepts every message, the n-th as queue ID "QIDn".
func StartCleanup(t testing.TB, path string, answer CleanupAnswer) *FakeCleanup {
	t.Helper()
	f := &FakeCleanup{answer: answer}
	f.stop = ServeProto(t, path, proto.ServiceCleanup, proto.VersionCleanup, f.serve)
	return f
}

// Stop takes the service down before the test ends: the socket stops
// answering and open connections are closed.
func (f *FakeCleanup) Stop() { f.stop() }

// SetAnswer changes how the following messages are answered.
func (f *FakeCleanup) SetAnswer(answer CleanupAnswer) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.answer = answer
}

// SetHangUp makes the service close each connection after one message,
// as a cleanup that restarted leaves the connections a client pooled.
func (f *FakeCleanup) SetHangUp(hangUp bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hangUp = hangUp
}

func (f *FakeCleanup) serve(c *proto.Conn) {
	srv := &proto.CleanupServer{C: c}
	for {
		o, err := srv.Next()
		if err != nil {
			return
		}
		f.mu.Lock()
		f.n++
		n, answer, hangUp := f.n, f.answer, f.hangUp
		f.mu.Unlock()
		res := &proto.CleanupResult{QueueID: fmt.Sprintf("QID%d", n)}
		if answer != nil {
			res = answer(n, o)
		}
		if res.Status != nil && res.QueueID == "" {
			if err := srv.Opened(proto.CleanupOpened{Status: res.Status}); err != nil {
				return
			}
			continue
		}
		if err := srv.Opened(proto.CleanupOpened{QueueID: res.QueueID}); err != nil {
			return
		}
		b, err := io.ReadAll(srv.Content())
		if err != nil {
			return
		}
		f.mu.Lock()
		f.msgs = append(f.msgs, Submission{Open: *o, Content: string(b), QueueID: res.QueueID})
		f.mu.Unlock()
		if err := srv.Done(*res); err != nil || hangUp {
			return
		}
	}
}

// Messages returns the messages received so far, in order.
func (f *FakeCleanup) Messages() []Submission {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Submission(nil), f.msgs...)
}
