package mailq

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"sync"
	"unicode/utf8"

	"github.com/postern-mta/postern/internal/proto"
	"github.com/postern-mta/postern/queue"
)

// DefaultEmptySender is how the null sender is shown
// (empty_address_recipient's default).
const DefaultEmptySender = "MAILER-DAEMON"

// Options say what Scan lists and how.
type Options struct {
	// Queues are the queues to list, in order; nil means every message
	// queue (queue.MessageQueues).
	Queues []string
	// EmptySender is shown for the null sender; "" means
	// DefaultEmptySender.
	EmptySender string
	// Warn receives a line about each file skipped because it could not
	// be read; nil drops them. It may be called from several goroutines
	// at once.
	Warn func(msg string)
	// Workers is how many files are read at once; 0 means twice
	// GOMAXPROCS (at most 16), 1 reads them one after the other.
	Workers int
}

// IsMessageQueue reports whether name is a queue that holds messages.
func IsMessageQueue(name string) bool {
	for _, q := range queue.MessageQueues {
		if q == name {
			return true
		}
	}
	return false
}

// Scan lists the messages of the queues opt names: it calls fn once per
// message, in the order the directory walk finds them, and stops at the
// first error fn returns. fn is called from one goroutine at a time; the
// entry passed to it is not used again by Scan.
//
// Files are read by opt.Workers goroutines at once, ahead of fn, so that
// a listing is not one system call latency after another; the order of
// the calls to fn does not depend on them.
func Scan(ctx context.Context, l *queue.Layout, opt Options, fn func(*proto.QueueEntry) error) error {
	queues := opt.Queues
	if queues == nil {
		queues = queue.MessageQueues
	}
	for _, q := range queues {
		if !IsMessageQueue(q) {
			return fmt.Errorf("list queue %q: not a message queue", q)
		}
	}
	workers := opt.Workers
	if workers == 0 {
		workers = min(2*runtime.GOMAXPROCS(0), maxWorkers)
	}
	if workers <= 1 {
		return walk(ctx, l, queues, func(q, id, path string) error {
			e, err := opt.read(l, q, id, path)
			if e == nil || err != nil {
				return err
			}
			return fn(e)
		})
	}
	return scanParallel(ctx, l, queues, opt, workers, fn)
}

// maxWorkers bounds the default number of reading goroutines.
const maxWorkers = 16

// batchSize is how many files a reader takes at a time: enough that
// handing work over costs little next to reading.
const batchSize = 32

// A job is a batch of files to read, and then their entries.
type job struct {
	files   []file
	entries []*proto.QueueEntry // parallel to files; nil: skipped
	err     error
	done    chan struct{}
}

type file struct{ q, id, path string }

func scanParallel(ctx context.Context, l *queue.Layout, queues []string, opt Options, workers int, fn func(*proto.QueueEntry) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobs := make(chan *job, 2*workers)  // to the readers
	order := make(chan *job, 2*workers) // to fn, in walk order
	var walkErr error
	go func() {
		defer close(order)
		defer close(jobs)
		var cur *job
		send := func() error {
			// A job goes to the readers before it is waited for, so
			// every job waited for is read.
			for _, ch := range []chan *job{jobs, order} {
				select {
				case ch <- cur:
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			cur = nil
			return nil
		}
		walkErr = walk(ctx, l, queues, func(q, id, path string) error {
			if cur == nil {
				cur = &job{files: make([]file, 0, batchSize), done: make(chan struct{})}
			}
			cur.files = append(cur.files, file{q, id, path})
			if len(cur.files) < batchSize {
				return nil
			}
			return send()
		})
		if walkErr == nil && cur != nil {
			walkErr = send()
		}
	}()
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				j.entries = make([]*proto.QueueEntry, len(j.files))
				for i, f := range j.files {
					if j.err = ctx.Err(); j.err != nil {
						break
					}
					if j.entries[i], j.err = opt.read(l, f.q, f.id, f.path); j.err != nil {
						break
					}
				}
				close(j.done)
			}
		}()
	}
	var err error
	for j := range order {
		if err != nil {
			continue // draining after a failure
		}
		<-j.done
		for _, e := range j.entries {
			if e != nil && err == nil {
				err = fn(e)
			}
		}
		if err == nil {
			err = j.err
		}
		if err != nil {
			cancel()
		}
	}
	wg.Wait()
	if err == nil {
		err = walkErr
	}
	return err
}

// walk calls fn for every message file of the queues, in order.
func walk(ctx context.Context, l *queue.Layout, queues []string, fn func(q, id, path string) error) error {
	for _, q := range queues {
		err := l.Walk(q, func(id, path string) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			return fn(q, id, path)
		})
		if err != nil && !isMissingDir(l, q, err) {
			return err
		}
	}
	return nil
}

// read reads one entry for Scan: nil and no error for a file to skip.
func (o Options) read(l *queue.Layout, q, id, path string) (*proto.QueueEntry, error) {
	e, err := ReadEntry(l, q, id, path, o)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil // delivered or moved meanwhile
	case errors.Is(err, queue.ErrCorrupt) || errors.Is(err, fs.ErrPermission):
		o.warn(fmt.Sprintf("%s: skipped: %v", path, err))
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("list queue %s: %w", q, err)
	}
	return e, nil
}

// isMissingDir tells a queue directory that does not exist (an empty
// queue) from other walk errors.
func isMissingDir(l *queue.Layout, q string, err error) bool {
	if !errors.Is(err, fs.ErrNotExist) {
		return false
	}
	_, serr := os.Stat(l.Dir(q))
	return errors.Is(serr, fs.ErrNotExist)
}

// ReadEntry reads one message's listing entry: the file at path, which
// is message id in queue queueName, and its defer log. As in Postfix the
// log is read whatever the queue, so a held message, or one being tried
// again, keeps the reasons of its last attempt; a maildrop file has no
// log yet. A defer log that cannot be read only loses the reasons (with
// a warning).
func ReadEntry(l *queue.Layout, queueName, id, path string, opt Options) (*proto.QueueEntry, error) {
	env, size, err := queue.ReadEnvelope(path)
	if err != nil {
		return nil, err
	}
	e := &proto.QueueEntry{
		QueueName:    queueName,
		QueueID:      id,
		ArrivalTime:  env.Arrival.Unix(),
		MessageSize:  size,
		ForcedExpire: env.Flags&queue.FlagForcedExpire != 0,
		Sender:       Printable(env.Sender),
	}
	if e.Sender == "" {
		e.Sender = opt.EmptySender
		if e.Sender == "" {
			e.Sender = DefaultEmptySender
		}
	}
	var reasons *reasonIndex
	if queueName != queue.Maildrop {
		recs, err := readReasons(l.Path(queue.Defer, id))
		if err != nil {
			opt.warn(fmt.Sprintf("%s: delay reasons unavailable: %v", id, err))
		}
		reasons = newReasonIndex(recs)
	}
	pending := 0
	for i := range env.Recipients {
		if !env.Recipients[i].Done {
			pending++
		}
	}
	e.Recipients = make([]proto.QueueRcptRef, 0, pending)
	for i := range env.Recipients {
		r := &env.Recipients[i]
		if r.Done {
			continue
		}
		e.Recipients = append(e.Recipients, proto.QueueRcptRef{
			Address:     Printable(r.Addr),
			DelayReason: Printable(reasons.find(r)),
		})
	}
	return e, nil
}

func (o Options) warn(msg string) {
	if o.Warn != nil {
		o.Warn(msg)
	}
}

// reasonIndex finds a recipient's delay reason in a defer log. A log
// holds the outcomes of the last delivery attempt; when a recipient
// appears more than once, the last record wins.
type reasonIndex struct {
	recs     []reasonRecord
	byOffset map[int64]string
	byAddr   map[string]string
}

// linearLimit is the log size up to which lookups scan the records
// instead of building maps.
const linearLimit = 8

func newReasonIndex(recs []reasonRecord) *reasonIndex {
	if len(recs) == 0 {
		return nil
	}
	x := &reasonIndex{recs: recs}
	if len(recs) > linearLimit {
		x.byOffset = make(map[int64]string, len(recs))
		x.byAddr = make(map[string]string, len(recs))
		for _, rec := range recs {
			if rec.offset > 0 {
				x.byOffset[rec.offset] = rec.reason
			}
			x.byAddr[rec.recipient] = rec.reason
		}
	}
	return x
}

// find returns r's reason, or "".
func (x *reasonIndex) find(r *queue.Recipient) string {
	if x == nil {
		return ""
	}
	if x.byOffset != nil {
		if v, ok := x.byOffset[r.Offset]; ok && r.Offset > 0 {
			return v
		}
		return x.byAddr[r.Addr]
	}
	byAddr := ""
	for i := len(x.recs) - 1; i >= 0; i-- {
		rec := &x.recs[i]
		if rec.offset > 0 && rec.offset == r.Offset {
			return rec.reason
		}
		if byAddr == "" && rec.recipient == r.Addr {
			byAddr = rec.reason
		}
	}
	return byAddr
}

// Printable replaces control characters and bytes that are not valid
// UTF-8 with '?', as Postfix does before it shows addresses and reasons.
func Printable(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f || c >= utf8.RuneSelf {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 || c == 0x7f {
				c = '?'
			}
			b = append(b, c)
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n <= 1 || r >= 0x80 && r < 0xa0 {
			b = append(b, '?')
			i += max(n, 1)
			continue
		}
		b = append(b, s[i:i+n]...)
		i += n
	}
	return string(b)
}
