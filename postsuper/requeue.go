package postsuper

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"time"

	"github.com/postern-mta/postern/internal/proto"
	"github.com/postern-mta/postern/queue"
)

// Requeueing puts a message back through cleanup, so that canonical and
// virtual mapping, header and body checks and content_filter apply again
// (milters are not run again, as in Postfix: their connection state is
// gone). It is done in three steps, each safe to interrupt:
//
//  1. Claim: the file moves to hold/, where qmgr never looks, so that no
//     delivery starts while it is copied. (A delivery already under way
//     for a message taken from active/ finishes; its recipient may get
//     the message twice, never zero times.)
//  2. Copy: the envelope (sender, arrival time, attributes including the
//     rewriting context, DSN parameters, original recipients) and the
//     content go to cleanup over private/cleanup, with the recipients
//     still to be delivered. Cleanup makes a new queue file with a new ID
//     and answers only once it is durable.
//  3. Remove: the old file and its defer log go.
//
// A crash after 1 leaves the message on hold (mailq shows it with "!");
// after 2, a copy in incoming and the original on hold. Nothing is lost.
//
// When cleanup cannot be reached (the mail system is stopped), step 2
// writes the copy into maildrop/ in the form postdrop writes, and pickup
// submits it when Postern starts: Postfix's own way, in which the message
// is handled as a new local submission.
//
// Resubmitting directly rather than always through maildrop keeps what a
// maildrop file cannot carry on its way through pickup (which treats
// maildrop as untrusted local input): the client attributes and the
// remote rewriting context of mail received by SMTP.

// requeueTimeout bounds one resubmission to cleanup.
const requeueTimeout = 5 * time.Minute

func (s *Super) requeueOne(ctx context.Context, id string, queues []string) bool {
	queues = only(queues, requeueQueues)
	for range tries {
		q, _, ok := s.find(id, queues)
		if !ok {
			return false
		}
		done, retry := s.requeue(ctx, id, q)
		if done {
			s.infof("%s: requeued", id)
			return true
		}
		if !retry {
			return false
		}
	}
	return false
}

func (s *Super) requeueAll(ctx context.Context, queues []string) {
	for _, q := range only(queues, requeueQueues) {
		// Collect first: requeued messages leave through hold/, which
		// may itself be walked.
		var ids []string
		s.walk(q, func(id, _ string) { ids = append(ids, id) })
		for _, id := range ids {
			if done, _ := s.requeue(ctx, id, q); done {
				s.requeued++
			}
		}
	}
}

// requeue resubmits message id from queue q. retry says the file was not
// where it was found (it moved meanwhile).
func (s *Super) requeue(ctx context.Context, id, q string) (done, retry bool) {
	if q != queue.Hold {
		if err := s.l.Move(id, q, queue.Hold); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return false, true
			}
			s.warnf("%v", err)
			return false, false
		}
	}
	giveBack := func() {
		if q == queue.Hold {
			return
		}
		if err := s.l.Move(id, queue.Hold, q); err != nil {
			s.warnf("%s: left on hold: %v", id, err)
		}
	}
	path := s.l.Path(queue.Hold, id)
	f, err := queue.Open(path, false)
	if err != nil {
		s.warnf("%s: cannot requeue: %v", id, err)
		giveBack()
		return false, false
	}
	defer f.Close()
	open := resubmission(f)
	if len(open.Recipients) == 0 {
		s.warnf("%s: not requeued: no recipient left to deliver", id)
		giveBack()
		return false, false
	}
	newID, how, err := s.resubmit(ctx, open, f)
	if err != nil {
		s.warnf("%s: cannot requeue: %v", id, err)
		giveBack()
		return false, false
	}
	s.verbosef("%s: resubmitted as %s (%s)", id, newID, how)
	if err := s.l.RemoveLog(queue.Defer, id); err != nil {
		s.warnf("%s: %v", id, err)
	}
	if err := s.l.Remove(queue.Hold, id); err != nil {
		s.warnf("%s: requeued, but the old copy remains: %v", id, err)
	}
	return true, false
}

// resubmission is the envelope of f as cleanup takes it: the recipients
// not yet done, and the attributes except the content filter chosen
// last time (the current content_filter applies, as in Postfix).
func resubmission(f *queue.File) *proto.CleanupOpen {
	env := &f.Envelope
	o := &proto.CleanupOpen{
		Source:   "postsuper",
		Flags:    proto.CleanupBounceOnReject,
		Sender:   env.Sender,
		FullName: env.FullName,
		DSNRet:   env.DSNRet,
		DSNEnvID: env.DSNEnvID,
		Arrival:  env.Arrival,
	}
	for _, a := range env.Attrs {
		if a.Name == "content_filter" || a.Name == "filter" {
			continue
		}
		o.Attrs = append(o.Attrs, proto.Attr{Name: a.Name, Value: a.Value})
	}
	for _, r := range env.Recipients {
		if !r.Done {
			o.Recipients = append(o.Recipients, proto.Rcpt{Addr: r.Addr, Orig: r.Orig, Notify: r.Notify, ORCPT: r.ORCPT})
		}
	}
	return o
}

// resubmit sends the message to cleanup, or writes it into maildrop when
// cleanup cannot be reached. It returns the new queue ID and which way
// it went.
func (s *Super) resubmit(ctx context.Context, o *proto.CleanupOpen, f *queue.File) (string, string, error) {
	if !s.noCleanup {
		ctx, cancel := context.WithTimeout(ctx, requeueTimeout)
		defer cancel()
		res, err := s.cleanup.Submit(ctx, o, f.Content())
		switch {
		case err == nil:
			return res.QueueID, "cleanup", nil
		case !isDialError(err):
			return "", "", fmt.Errorf("cleanup: %w", err)
		}
		s.verbosef("cleanup unreachable, requeueing into maildrop: %v", err)
		s.noCleanup = true
	}
	id, err := s.toMaildrop(o, f.Content())
	if err != nil {
		return "", "", err
	}
	proto.Nudge(s.cfg.PickupPath, proto.ServicePickup, proto.VersionPickup) //nolint:errcheck // pickup also scans on its timer
	return id, "maildrop", nil
}

// toMaildrop writes the message into maildrop/ as postdrop would.
func (s *Super) toMaildrop(o *proto.CleanupOpen, content io.Reader) (string, error) {
	w, err := s.l.NewWriter(queue.Maildrop)
	if err != nil {
		return "", err
	}
	defer w.Abort()
	env := &queue.Envelope{
		Arrival:  o.Arrival,
		Sender:   o.Sender,
		FullName: o.FullName,
		DSNRet:   o.DSNRet,
		DSNEnvID: o.DSNEnvID,
	}
	for _, a := range o.Attrs {
		env.Attrs = append(env.Attrs, queue.Attr{Name: a.Name, Value: a.Value})
	}
	for _, r := range o.Recipients {
		env.Recipients = append(env.Recipients, queue.Recipient{Addr: r.Addr, Orig: r.Orig, Notify: r.Notify, ORCPT: r.ORCPT})
	}
	w.SetEnvelope(env)
	if _, err := io.Copy(w, content); err != nil {
		return "", err
	}
	if err := w.Commit(); err != nil {
		return "", err
	}
	return w.ID(), nil
}

// isDialError tells a service that could not be reached from one that
// failed after answering.
func isDialError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}
