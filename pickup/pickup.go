package pickup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"sort"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/postern-mta/postern/internal/daemon"
	"github.com/postern-mta/postern/internal/dsn"
	"github.com/postern-mta/postern/internal/maillog"
	"github.com/postern-mta/postern/internal/proto"
	"github.com/postern-mta/postern/queue"
)

// Pickup moves local submissions from maildrop/ to cleanup.
type Pickup struct {
	cfg    *Config
	log    *maillog.Logger
	layout *queue.Layout
	wake   chan struct{}
	// cleanup holds a connection per worker while a scan lasts.
	cleanup *proto.CleanupPool
}

// New returns a pickup service for cfg.
func New(cfg *Config, log *maillog.Logger) *Pickup {
	if cfg.Workers <= 0 {
		cfg.Workers = 1
	}
	return &Pickup{
		cfg:    cfg,
		log:    log,
		layout: queue.NewLayout(cfg.QueueDir, cfg.HashQueueNames, cfg.HashQueueDepth),
		wake:   make(chan struct{}, 1),
		// public/NAME with the master.cf of Postfix and Postern
		// (DialCleanup tries private/ when that is missing).
		cleanup: proto.NewCleanupPool(cfg.Workers, proto.PublicPath(cfg.QueueDir, cfg.CleanupService)),
	}
}

// Wake asks for a scan soon; it never blocks.
func (p *Pickup) Wake() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// Run scans maildrop/ at start, on every wake-up (fsnotify, a nudge from
// postdrop, master's wakeup) and every ScanInterval, until ctx ends.
func (p *Pickup) Run(ctx context.Context, masterWakeup <-chan struct{}) {
	t := time.NewTicker(p.cfg.ScanInterval)
	defer t.Stop()
	for {
		p.Scan(ctx)
		select {
		case <-ctx.Done():
			return
		case <-p.wake:
		case <-masterWakeup:
		case <-t.C:
		}
	}
}

// Scan hands every complete maildrop file to cleanup, oldest first,
// several at once, and scans again while that removed files.
func (p *Pickup) Scan(ctx context.Context) {
	for ctx.Err() == nil {
		var ids []string
		err := p.layout.Walk(queue.Maildrop, func(id, _ string) error {
			ids = append(ids, id)
			return nil
		})
		if err != nil {
			p.log.Warning("%v", err)
			return
		}
		if len(ids) == 0 {
			return
		}
		sort.Strings(ids) // IDs sort by creation time: arrival order
		jobs := make(chan string)
		var removed sync.WaitGroup
		var mu sync.Mutex
		done := 0
		for range min(p.cfg.Workers, len(ids)) {
			removed.Add(1)
			go func() {
				defer removed.Done()
				for id := range jobs {
					if p.file(ctx, id) {
						mu.Lock()
						done++
						mu.Unlock()
					}
				}
			}()
		}
	feed:
		for _, id := range ids {
			select {
			case jobs <- id:
			case <-ctx.Done():
				break feed
			}
		}
		close(jobs)
		removed.Wait()
		p.cleanup.Close()
		if done == 0 {
			return
		}
	}
}

// file hands one maildrop file to cleanup and reports whether it left
// maildrop/ (queued, bounced, or moved to corrupt/).
func (p *Pickup) file(ctx context.Context, id string) bool {
	path := p.layout.Path(queue.Maildrop, id)
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false
	}
	if err != nil {
		p.log.Warning("maildrop/%s: %v", id, err)
		return false
	}
	if !fi.Mode().IsRegular() {
		return p.corrupt(id, "not a regular file")
	}
	uid := int(fi.Sys().(*syscall.Stat_t).Uid)
	f, err := queue.Open(path, false)
	switch {
	case errors.Is(err, queue.ErrCorrupt):
		return p.corrupt(id, err.Error())
	case errors.Is(err, fs.ErrNotExist):
		return false
	case err != nil:
		p.log.Warning("maildrop/%s: %v", id, err)
		return false
	}
	defer f.Close()
	err = p.submit(ctx, f, uid)
	var st *dsn.Status
	switch {
	case err == nil:
	case errors.As(err, &st) && st.Permanent():
		return p.corrupt(id, fmt.Sprintf("uid=%d: cleanup refused the message: %s", uid, st))
	default:
		p.log.Warning("maildrop/%s: uid=%d: %v; will try again", id, uid, err)
		return false
	}
	if err := p.layout.Remove(queue.Maildrop, id); err != nil && !errors.Is(err, fs.ErrNotExist) {
		p.log.Warning("maildrop/%s: %v", id, err)
		return false
	}
	return true
}

// corrupt moves a maildrop file that cannot be submitted to corrupt/.
func (p *Pickup) corrupt(id, why string) bool {
	if err := p.layout.Move(id, queue.Maildrop, queue.Corrupt); err != nil {
		p.log.Warning("maildrop/%s: %s; and cannot move it to corrupt/: %v", id, why, err)
		return false
	}
	p.log.Warning("maildrop/%s: %s: moved to corrupt/%s", id, why, id)
	return true
}

// submit sends one maildrop file to cleanup.
func (p *Pickup) submit(ctx context.Context, f *queue.File, uid int) error {
	o := p.cleanupOpen(f, uid)
	ctx, cancel := context.WithTimeout(ctx, p.cfg.IPCTimeout)
	defer cancel()
	sub, err := p.cleanup.Open(ctx, o)
	if err != nil {
		return err
	}
	p.log.Info("%s: uid=%d from=<%s>", sub.ID(), uid, f.Envelope.Sender)
	// Out before cleanup's "message-id=" line for the same message, as in
	// Postfix's log: the logger may be holding lines back (daemon.Run).
	p.log.Flush()
	return p.send(ctx, sub, f, uid)
}

// send writes the content: pickup's Received: header first, as Postfix
// does, then the message.
func (p *Pickup) send(ctx context.Context, sub *proto.PooledSubmission, f *queue.File, uid int) error {
	hdr := fmt.Sprintf("Received: by %s (%s, from userid %d)\n\tid %s; %s\n",
		p.cfg.MyHostname, p.cfg.MailName, uid, sub.ID(), f.Envelope.Arrival.Format("Mon, _2 Jan 2006 15:04:05 -0700 (MST)"))
	content := f.Content()
	var first [1]byte
	if n, _ := content.ReadAt(first[:], 0); n == 1 && (first[0] == ' ' || first[0] == '\t') {
		// A first line that starts with a blank would continue our
		// Received: header; an empty line ends the header instead.
		hdr += "\n"
	}
	if _, err := io.WriteString(sub, hdr); err != nil {
		sub.Abort()
		return fmt.Errorf("send to cleanup: %w", err)
	}
	if _, err := io.Copy(sub, content); err != nil {
		sub.Abort()
		return fmt.Errorf("send to cleanup: %w", err)
	}
	_, err := sub.Finish(ctx)
	return err
}

// cleanupOpen makes cleanup's envelope from a maildrop file. The uid is
// the file's owner: postdrop, set-group-ID only, writes as the user.
func (p *Pickup) cleanupOpen(f *queue.File, uid int) *proto.CleanupOpen {
	e := &f.Envelope
	o := &proto.CleanupOpen{
		Source:   "pickup",
		Flags:    proto.CleanupLocal | proto.CleanupBounceOnReject,
		Sender:   e.Sender,
		FullName: e.FullName,
		DSNRet:   e.DSNRet,
		DSNEnvID: e.DSNEnvID,
		Arrival:  e.Arrival,
		Attrs:    []proto.Attr{{Name: proto.AttrUID, Value: strconv.Itoa(uid)}},
	}
	if e.Flags&queue.FlagVerify != 0 {
		o.Flags |= proto.CleanupVerify
	}
	if e.Flags&queue.FlagTrace != 0 {
		o.Flags |= proto.CleanupTrace
	}
	rctx := "local"
	for _, a := range e.Attrs {
		switch a.Name {
		case proto.AttrExtractRcpt:
			if a.Value == "yes" {
				o.Flags |= proto.CleanupExtractRcpt
			}
		case proto.AttrRewriteContext:
			rctx = a.Value
		case proto.AttrEncoding, proto.AttrSMTPUTF8, proto.AttrLogIdent, proto.AttrDSNNotify, proto.AttrVERP:
			o.Attrs = append(o.Attrs, proto.Attr{Name: a.Name, Value: a.Value})
		}
	}
	o.Attrs = append(o.Attrs, proto.Attr{Name: proto.AttrRewriteContext, Value: rctx})
	o.Attrs = append(o.Attrs, proto.Attr{Name: proto.AttrContentFilter, Value: p.cfg.ContentFilter})
	for _, r := range e.Recipients {
		if r.Done {
			continue
		}
		o.Recipients = append(o.Recipients, proto.Rcpt{Addr: r.Addr, Orig: r.Orig, Notify: r.Notify, ORCPT: r.ORCPT})
	}
	return o
}

// serveControl answers wake-up requests on public/pickup.
func (p *Pickup) serveControl(ctx context.Context, c *daemon.Conn) {
	p.control(c, c.SetIdle)
}

// serveControlConn is serveControl for a plain connection.
func (p *Pickup) serveControlConn(_ context.Context, nc net.Conn) {
	defer nc.Close()
	p.control(nc, func(bool) {})
}

func (p *Pickup) control(nc net.Conn, setIdle func(bool)) {
	pc, err := proto.Accept(nc, proto.ServicePickup, proto.VersionPickup)
	if err != nil {
		return
	}
	for {
		setIdle(true)
		var req proto.ControlRequest
		err := pc.Recv(&req)
		setIdle(false)
		if err != nil {
			return
		}
		var r proto.ControlReply
		switch req.Op {
		case proto.OpWakeup, proto.OpFlush:
			p.Wake()
		default:
			r.Status = dsn.New(502, "5.5.1", "pickup: unknown request %q", req.Op)
		}
		if err := pc.Send(r); err != nil {
			return
		}
	}
}
