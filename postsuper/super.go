package postsuper

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/postern-mta/postern/internal/maillog"
	"github.com/postern-mta/postern/internal/proto"
	"github.com/postern-mta/postern/queue"
)

// Config is what postsuper takes from main.cf.
type Config struct {
	Layout      *queue.Layout // queue_directory, hash_queue_names, hash_queue_depth
	CleanupPath string        // private/$cleanup_service_name: where -r resubmits
	PickupPath  string        // public/$pickup_service_name: nudged after a requeue into maildrop
	// Log, when set, also gets every line printed (the mail log).
	Log *maillog.Logger
}

// Request is one run's operations. Each ID list holds queue IDs, "ALL"
// (every message) and "-" (IDs read from Stdin, one per line).
type Request struct {
	Delete        []string // -d
	Expire        []string // -e
	ExpireRelease []string // -f
	Requeue       []string // -r
	Hold          []string // -h
	Release       []string // -H
	Structure     bool     // -s
	Strict        bool     // -S
	Purge         bool     // -p
	// Queues narrow the operations to these queues (the arguments).
	Queues []string
	Stdin  io.Reader
}

// Queue names an operation may be limited to, and the log queues the
// structure check visits before the message queues (so that a message
// renamed to match its inode finds its logs in place).
var (
	logQueues    = []string{queue.Defer, queue.Bounce, queue.Trace}
	structQueues = []string{queue.Defer, queue.Bounce, queue.Trace, queue.Maildrop, queue.Incoming, queue.Active, queue.Deferred, queue.Hold}
	validQueues  = append(slices.Clone(structQueues), queue.Corrupt)

	deleteQueues  = []string{queue.Maildrop, queue.Incoming, queue.Active, queue.Deferred, queue.Hold}
	requeueQueues = []string{queue.Hold, queue.Incoming, queue.Active, queue.Deferred}
	expireQueues  = []string{queue.Hold, queue.Incoming, queue.Active, queue.Deferred}
	holdQueues    = []string{queue.Incoming, queue.Active, queue.Deferred}
	releaseQueues = []string{queue.Hold}
)

// Super carries out requests on one queue.
type Super struct {
	cfg     Config
	l       *queue.Layout
	out     io.Writer // standard error: every line postsuper prints
	verbose int
	now     func() time.Time
	// TempAge is how old a temporary file must be for -p to remove it.
	TempAge time.Duration

	cleanup   *proto.CleanupPool // -r: one connection for all requeues
	noCleanup bool               // cleanup could not be reached: requeue into maildrop

	deleted, expired, requeued, held, released int
	inodeFixed                                 int
}

// DefaultTempAge is Postfix's: a temporary file a day old was left by a
// crash.
const DefaultTempAge = 24 * time.Hour

// New returns a Super that prints to out (standard error).
func New(cfg Config, out io.Writer, verbose int) *Super {
	return &Super{cfg: cfg, l: cfg.Layout, out: out, verbose: verbose, now: time.Now, TempAge: DefaultTempAge,
		cleanup: proto.NewCleanupPool(1, cfg.CleanupPath)}
}

func (s *Super) infof(format string, args ...any) {
	fmt.Fprintf(s.out, "postsuper: "+format+"\n", args...)
	if s.cfg.Log != nil {
		s.cfg.Log.Info(format, args...)
	}
}

func (s *Super) warnf(format string, args ...any) {
	fmt.Fprintf(s.out, "postsuper: warning: "+format+"\n", args...)
	if s.cfg.Log != nil {
		s.cfg.Log.Warning(format, args...)
	}
}

func (s *Super) verbosef(format string, args ...any) {
	if s.verbose > 0 {
		s.infof(format, args...)
	}
}

// errFatal ends the run after the reason was printed.
var errFatal = errors.New("fatal")

// Run carries out req: the structure check and purge first (so that
// files are where they belong), then the mass operations ("ALL"), then
// the operations on named messages, then the summaries.
func (s *Super) Run(ctx context.Context, req Request) error {
	defer s.cleanup.Close()
	for _, q := range req.Queues {
		if !slices.Contains(validQueues, q) {
			return fmt.Errorf("invalid directory name: %s", q)
		}
	}
	queues := func(defaults []string) []string {
		if len(req.Queues) > 0 {
			return req.Queues
		}
		return defaults
	}
	lists := []*[]string{&req.Delete, &req.Expire, &req.ExpireRelease, &req.Requeue, &req.Hold, &req.Release}
	for i, opt := range []string{"-d", "-e", "-f", "-r", "-h", "-H"} {
		if slices.Contains(*lists[i], "ALL") && len(*lists[i]) > 1 {
			s.warnf("option \"%s ALL\" will ignore other command line queue IDs", opt)
			*lists[i] = []string{"ALL"}
		}
	}
	if req.Structure || req.Strict || req.Purge {
		s.structure(queues(structQueues), req.Structure || req.Strict, req.Strict, req.Purge)
	}
	byID := false
	for _, l := range lists {
		byID = byID || len(*l) > 0 && (*l)[0] != "ALL"
	}
	if byID && s.inodeFixed > 0 {
		// The names just changed: an ID from the command line could now
		// name another message.
		fmt.Fprintf(s.out, "postsuper: error: QUEUE FILE NAMES WERE CHANGED TO MATCH INODE NUMBERS\n")
		fmt.Fprintf(s.out, "postsuper: fatal: CHECK YOUR QUEUE IDS AND RE-ISSUE THE COMMAND\n")
		return errFatal
	}
	ids := func(list []string) ([]string, error) {
		var out []string
		for _, id := range list {
			if id != "-" {
				out = append(out, id)
				continue
			}
			more, err := readIDs(req.Stdin)
			if err != nil {
				return nil, err
			}
			out = append(out, more...)
		}
		return out, nil
	}
	ops := []struct {
		list     []string
		defaults []string
		one      func(ctx context.Context, id string, queues []string) bool
		all      func(ctx context.Context, queues []string)
		count    *int
	}{
		{req.Delete, deleteQueues, s.deleteOne, s.deleteAll, &s.deleted},
		{req.Expire, expireQueues, s.expireOne(false), s.expireAll(false), &s.expired},
		{req.ExpireRelease, expireQueues, s.expireOne(true), s.expireAll(true), &s.expired},
		{req.Requeue, requeueQueues, s.requeueOne, s.requeueAll, &s.requeued},
		{req.Hold, holdQueues, s.holdOne, s.holdAll, &s.held},
		{req.Release, releaseQueues, s.releaseOne, s.releaseAll, &s.released},
	}
	for _, op := range ops {
		if len(op.list) == 0 {
			continue
		}
		qs := queues(op.defaults)
		if op.list[0] == "ALL" {
			op.all(ctx, qs)
			continue
		}
		list, err := ids(op.list)
		if err != nil {
			return err
		}
		for _, id := range list {
			if !queue.ValidID(id) {
				s.warnf("invalid mail queue id: %s", id)
				continue
			}
			if op.one(ctx, id, qs) {
				*op.count++
			}
		}
	}
	s.summary(req)
	return nil
}

// summary prints the counts of the operations asked for, in Postfix's
// order.
func (s *Super) summary(req Request) {
	line := func(asked bool, what string, n int) {
		if asked {
			plural := "s"
			if n == 1 {
				plural = ""
			}
			s.infof("%s: %d message%s", what, n, plural)
		}
	}
	line(len(req.Requeue) > 0, "Requeued", s.requeued)
	line(len(req.Delete) > 0, "Deleted", s.deleted)
	line(len(req.Hold) > 0, "Placed on hold", s.held)
	line(len(req.Release) > 0 || len(req.ExpireRelease) > 0, "Released from hold", s.released)
	line(len(req.Expire) > 0 || len(req.ExpireRelease) > 0, "Force-expired", s.expired)
	line(s.inodeFixed > 0, "Renamed to match inode number", s.inodeFixed)
	if s.inodeFixed > 0 {
		s.warnf("QUEUE FILE NAMES WERE CHANGED TO MATCH INODE NUMBERS")
	}
}

// maxIDLine bounds a line of queue IDs on standard input.
const maxIDLine = 4096

// readIDs reads queue IDs, one per line (blank lines and surrounding
// blanks ignored), as "postsuper -d -" does.
func readIDs(r io.Reader) ([]string, error) {
	if r == nil {
		return nil, nil
	}
	var ids []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 256), maxIDLine)
	for line := 1; sc.Scan(); line++ {
		if id := strings.TrimSpace(sc.Text()); id != "" {
			ids = append(ids, id)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read queue IDs from standard input: %w", err)
	}
	return ids, nil
}
