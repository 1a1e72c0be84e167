package cleanup

import (
	"errors"
	"io/fs"
	"strings"
	"syscall"
	"time"

	"github.com/postern-mta/postern/internal/dsn"
	"github.com/postern-mta/postern/internal/maillog"
	"github.com/postern-mta/postern/internal/proto"
	"github.com/postern-mta/postern/queue"
)

// Statuses cleanup answers with besides those of the checks.
var (
	errNoRcpt  = &dsn.Status{Code: 550, Enhanced: "5.1.0", Text: "Error: no recipients specified"}
	errTooBig  = &dsn.Status{Code: 552, Enhanced: "5.3.4", Text: "Error: message file too big"}
	errStorage = &dsn.Status{Code: 452, Enhanced: "4.3.1", Text: "Insufficient system storage"}
	errWrite   = &dsn.Status{Code: 451, Enhanced: "4.3.0", Text: "Error: queue file write error"}
)

// storageStatus turns an error writing the queue into the client's
// answer: a full, read-only or forbidden queue file system is
// "452 4.3.1 Insufficient system storage", anything else "451 4.3.0".
func storageStatus(err error) *dsn.Status {
	for _, e := range []error{syscall.ENOSPC, syscall.EDQUOT, syscall.EROFS, syscall.EACCES, syscall.EPERM, fs.ErrPermission} {
		if errors.Is(err, e) {
			return errStorage.Wrap(err)
		}
	}
	return errWrite.Wrap(err)
}

// finishRecipients adds what the content decided: -t recipients, blind
// copies, a redirection.
func (m *message) finishRecipients() {
	if m.flags&proto.CleanupExtractRcpt != 0 {
		list := m.extracted
		if len(m.extractedR) > 0 {
			list = m.extractedR
		}
		notify := proto.Lookup(m.open.Attrs, proto.AttrDSNNotify)
		for _, a := range list {
			m.recipient(a, a, notify, "", true)
		}
	}
	if len(m.rcpts) > 0 && m.mapOK {
		if m.cfg.SenderBcc != nil && m.sender != "" {
			targets, found, err := m.rw.lookup(m.ctx, m.cfg.SenderBcc, m.sender, false)
			if err != nil {
				m.warnf("sender_bcc_maps lookup problem for %s -- message not accepted, try again later", m.sender)
				m.tempFail(errTable.Wrap(err))
			} else if found {
				m.bccs = append(m.bccs, targets...)
			}
		}
		if m.cfg.AlwaysBcc != "" {
			m.bccs = append(m.bccs, m.cfg.AlwaysBcc)
		}
	}
	for _, b := range m.bccs {
		m.recipient(b, b, "", "", false)
	}
	if m.redirect != "" && len(m.rcpts) > 0 {
		orig := m.rcpts[0].Orig
		m.rcpts = []queue.Recipient{{Addr: qualify(m.redirect, m.cfg.MyOrigin), Orig: orig}}
	}
}

// finish decides what becomes of a message whose content has been read,
// and makes it durable or throws it away. q is the queue its file is
// being written in; parked is true when that is hold/ only until the
// message is accepted (local submissions, which may be bounced).
func (c *Cleanup) finish(m *message, w *queue.Writer, q string, parked bool) proto.CleanupResult {
	res := proto.CleanupResult{QueueID: m.id}
	if m.fail == nil && !m.tooBig && m.reject == nil && !m.discard {
		m.finishRecipients()
	}
	switch {
	case m.writeErr != nil:
		res.Status = c.storageFailed(m, "write queue file", m.writeErr)
	case m.fail != nil:
		res.Status = m.fail
	case m.tooBig:
		res.Status = errTooBig
	case m.reject != nil && m.bounceOnReject():
		return c.bounce(m, w, q)
	case m.reject != nil:
		res.Status = m.reject
	case m.discard:
		res.Discarded = true
	case len(m.rcpts) == 0:
		res.Status = errNoRcpt
	}
	if res.Status != nil || res.Discarded {
		w.Abort()
		return res
	}
	m.writeEnvelope()
	for _, r := range m.rcpts {
		w.AddRecipient(r)
	}
	if err := w.Commit(); err != nil {
		res.Status = c.storageFailed(m, "write queue file", err)
		return res
	}
	held := q == queue.Hold && !parked
	switch {
	case parked && !m.hold:
		if err := c.layout.Move(m.id, queue.Hold, queue.Incoming); err != nil {
			c.layout.Remove(queue.Hold, m.id) //nolint:errcheck // the submitter keeps its copy and retries
			res.Status = c.storageFailed(m, "release queue file", err)
			return res
		}
	case parked:
		held = true
	case m.hold && q != queue.Hold:
		if err := c.layout.Move(m.id, q, queue.Hold); err != nil {
			m.warnf("cannot put the message on hold: %v", err)
		} else {
			held = true
		}
	}
	res.Held = held
	if !held {
		// Our lines go out before qmgr can log the message.
		c.log.Flush()
		c.nudger.nudge()
	}
	return res
}

// storageFailed logs why the queue could not be written and returns the
// client's answer.
func (c *Cleanup) storageFailed(m *message, what string, err error) *dsn.Status {
	st := storageStatus(err)
	id := m.id
	if id == "" {
		id = "NOQUEUE"
	}
	c.log.Warning("%s: %s: %v", id, what, err)
	return st
}

// bounce sends a rejected local submission back to its sender: the
// message is queued (in hold/, where qmgr never looks) with its
// recipients, each recipient is logged as bounced and appended to the
// message's bounce log, the bounce service sends the non-delivery report
// (headers only: the envelope says RET=HDRS when the rejection came from
// the header), and the file is removed. If the report cannot be sent the
// submitter is told to try again later; it still has the message.
func (c *Cleanup) bounce(m *message, w *queue.Writer, q string) proto.CleanupResult {
	res := proto.CleanupResult{QueueID: m.id}
	st := m.reject
	if len(m.rcpts) == 0 {
		w.Abort()
		res.Status = st
		return res
	}
	m.writeEnvelope()
	for _, r := range m.rcpts {
		w.AddRecipient(r)
	}
	if err := w.Commit(); err != nil {
		res.Status = c.storageFailed(m, "write queue file", err)
		return res
	}
	now := time.Now()
	delay := now.Sub(m.arrival)
	reason := strings.TrimPrefix(st.Text, "Error: ")
	entries := make([]proto.LogEntry, 0, len(m.rcpts))
	for _, r := range m.rcpts {
		c.log.Delivery(maillog.Delivery{
			QueueID: m.id, To: r.Addr, OrigTo: r.Orig, Relay: "none",
			Delay: delay, Delays: [4]time.Duration{delay}, DSN: st.Enhanced,
			Status: "bounced", Text: reason,
		})
		entries = append(entries, proto.LogEntry{
			Recipient: r.Addr, Orig: r.Orig, Notify: r.Notify, ORCPT: r.ORCPT,
			Status: &dsn.Status{Code: st.Code, Enhanced: st.Enhanced, Text: reason},
			Action: proto.ActionFailed, Reason: reason, DiagType: "X-Postfix", Diag: reason, Time: now,
		})
	}
	err := c.bouncer.Bounce(m.ctx, q, m.id, entries)
	if rerr := c.layout.Remove(q, m.id); rerr != nil {
		m.warnf("remove bounced message: %v", rerr)
	}
	if err != nil {
		c.layout.RemoveLog(queue.Bounce, m.id) //nolint:errcheck // may not exist
		m.warnf("cannot send the non-delivery report: %v", err)
		res.Status = errWrite.Wrap(err)
		return res
	}
	res.Bounced = true
	return res
}
