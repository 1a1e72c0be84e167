package proto

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"time"

	"github.com/postern-mta/postern/internal/dsn"
)

// The cleanup service takes one message at a time over a connection:
//
//	client → CleanupOpen
//	server → CleanupOpened        (the queue ID; smtpd puts it in Received:)
//	client → content frames, end frame
//	server → CleanupResult        (only after the queue file is fsynced)
//
// A connection may carry any number of messages, one after the other. A
// client that keeps its connection for more (CleanupOpen.Reserve) gets in
// each CleanupResult the queue ID of a file cleanup has already created
// for its next message (Next). Sending that ID back (Reserved) skips the
// CleanupOpened round trip: envelope, content and end go in one write, and
// a refusal comes in the CleanupResult. A reservation is used only while
// fresh (ReserveFresh), so that queue IDs keep telling the time.

// Cleanup flags, set by the receiver that submits the message.
const (
	// CleanupBounceOnReject: a rejection by header/body checks becomes a
	// bounce to the sender instead of an error to the submitter (local
	// submissions: sendmail/pickup).
	CleanupBounceOnReject uint32 = 1 << iota
	// CleanupNoChecks skips header/body checks (bounces, requeue).
	CleanupNoChecks
	// CleanupNoRewrite skips canonical and virtual alias mapping (requeue
	// keeps what was done; bounces of already-rewritten mail).
	CleanupNoRewrite
	// CleanupExtractRcpt adds recipients from To/Cc/Bcc (sendmail -t).
	CleanupExtractRcpt
	// CleanupLocal marks a local submission: Bcc/Return-Path/Delivered-To
	// handling and From: from the full name, as Postfix does for sendmail.
	CleanupLocal
	// CleanupVerify marks a sendmail -bv request: resolve, don't deliver.
	CleanupVerify
	// CleanupTrace marks a sendmail -v request: mail a delivery report.
	CleanupTrace
	// CleanupHold puts the message on hold at once.
	CleanupHold
)

// Rcpt is one envelope recipient as received.
type Rcpt struct {
	Addr   string `json:"addr"`
	Orig   string `json:"orig,omitempty"`   // original recipient when already rewritten (requeue)
	Notify string `json:"notify,omitempty"` // DSN NOTIFY: "", "NEVER", "SUCCESS,DELAY,FAILURE" subsets
	ORCPT  string `json:"orcpt,omitempty"`  // DSN ORCPT, "rfc822;x@y"
}

// CleanupOpen starts a message.
type CleanupOpen struct {
	Source     string    `json:"source"` // smtpd, qmqpd, pickup, bounce, local (forwarding), sendmail
	Flags      uint32    `json:"flags,omitempty"`
	Sender     string    `json:"sender"`
	FullName   string    `json:"full_name,omitempty"` // sendmail -F / NAME
	Recipients []Rcpt    `json:"rcpts"`
	DSNRet     string    `json:"dsn_ret,omitempty"`   // FULL or HDRS
	DSNEnvID   string    `json:"dsn_envid,omitempty"` // ENVID
	Arrival    time.Time `json:"arrival,omitzero"`    // zero: now
	Attrs      []Attr    `json:"attrs,omitempty"`     // client_name, helo_name, protocol_name, uid, …
	// Queue, when set, is where the file goes ("hold"); default incoming.
	Queue string `json:"queue,omitempty"`
	// Reserve asks for a queue file for the next message on this
	// connection, given in CleanupResult.Next.
	Reserve bool `json:"reserve,omitempty"`
	// Reserved is the last CleanupResult.Next: the message goes into that
	// file, no CleanupOpened is sent and content follows at once.
	Reserved string `json:"reserved,omitempty"`
}

// Reservable reports whether a message may go into a reserved file: one
// created in incoming/, so not one bound for hold/ from the start.
func (o *CleanupOpen) Reservable() bool {
	return o.Queue == "" && o.Flags&(CleanupHold|CleanupBounceOnReject) == 0
}

// CleanupOpened answers CleanupOpen. A non-nil Status means the message is
// refused before any content (the client must not send content).
type CleanupOpened struct {
	QueueID string      `json:"queue_id,omitempty"`
	Status  *dsn.Status `json:"status,omitempty"`
}

// CleanupResult ends a message. Status nil: the message is safe on disk
// (or discarded, or held, as the flags say).
type CleanupResult struct {
	QueueID   string      `json:"queue_id"`
	Status    *dsn.Status `json:"status,omitempty"`
	Held      bool        `json:"held,omitempty"`
	Discarded bool        `json:"discarded,omitempty"`
	// Bounced: a local submission that checks rejected; the sender gets an
	// NDR, the submitter gets success.
	Bounced bool `json:"bounced,omitempty"`
	// Next is the queue file reserved for the client's next message, when
	// it asked (CleanupOpen.Reserve).
	Next string `json:"next,omitempty"`
}

// ReserveFresh is how long a reserved queue file may wait for its message.
// Queue IDs carry the time their file was made; mail that waited longer
// goes into a file made for it.
const ReserveFresh = time.Second

// CleanupClient submits messages to cleanup over one connection.
type CleanupClient struct {
	c *Conn
	// reserve: ask for a file for the next message (pooled connections).
	reserve bool
	next    string
	nextAt  time.Time
}

// CleanupPath is where cleanup listens: public/cleanup, as master.cf
// declares it (private column n) in Postfix's and Postern's stock tables.
func CleanupPath(queueDir string) string { return PublicPath(queueDir, ServiceCleanup) }

// DialCleanup connects to the cleanup service at path. When no socket is
// there, it tries the same name in the other class (private/ for public/
// and back), so a master.cf that marks cleanup private still works.
func DialCleanup(ctx context.Context, path string) (*CleanupClient, error) {
	c, err := Dial(ctx, path, ServiceCleanup, VersionCleanup)
	if err != nil && errors.Is(err, fs.ErrNotExist) {
		if other := otherClass(path); other != "" {
			c, err = Dial(ctx, other, ServiceCleanup, VersionCleanup)
		}
	}
	if err != nil {
		return nil, err
	}
	return &CleanupClient{c: c}, nil
}

// otherClass turns .../private/NAME into .../public/NAME and back.
func otherClass(path string) string {
	dir, name := filepath.Split(path)
	dir = filepath.Clean(dir)
	switch filepath.Base(dir) {
	case "private":
		return filepath.Join(filepath.Dir(dir), "public", name)
	case "public":
		return filepath.Join(filepath.Dir(dir), "private", name)
	}
	return ""
}

// Close closes the connection.
func (cl *CleanupClient) Close() error { return cl.c.Close() }

// Submission is one message being sent to cleanup.
type Submission struct {
	cl *CleanupClient
	ID string
	w  io.WriteCloser
}

// Open starts a message. A refusal comes back as a *dsn.Status error.
func (cl *CleanupClient) Open(ctx context.Context, o *CleanupOpen) (*Submission, error) {
	cl.c.WithContext(ctx)
	next := cl.next
	cl.next = ""
	if cl.reserve {
		req := *o
		req.Reserve = true
		if next != "" && time.Since(cl.nextAt) < ReserveFresh && o.Reservable() {
			req.Reserved = next
			if err := cl.c.Queue(&req); err != nil {
				return nil, fmt.Errorf("send envelope to cleanup: %w", err)
			}
			return &Submission{cl: cl, ID: next, w: cl.c.ContentWriter()}, nil
		}
		o = &req
	}
	if err := cl.c.Send(o); err != nil {
		return nil, fmt.Errorf("send envelope to cleanup: %w", err)
	}
	var r CleanupOpened
	if err := cl.c.Recv(&r); err != nil {
		return nil, fmt.Errorf("read cleanup's answer: %w", err)
	}
	if r.Status != nil {
		return nil, r.Status
	}
	return &Submission{cl: cl, ID: r.QueueID, w: cl.c.ContentWriter()}, nil
}

// Write sends content: the message as received (CRLF or LF line ends).
func (s *Submission) Write(p []byte) (int, error) { return s.w.Write(p) }

// Finish ends the content and waits for cleanup's verdict. A refusal or a
// failure to store comes back as a *dsn.Status error; a lost connection as
// another error (temporary).
func (s *Submission) Finish(ctx context.Context) (*CleanupResult, error) {
	c := s.cl.c
	c.WithContext(ctx)
	if err := s.w.Close(); err != nil {
		return nil, fmt.Errorf("send content to cleanup: %w", err)
	}
	if err := c.Flush(); err != nil {
		return nil, fmt.Errorf("send content to cleanup: %w", err)
	}
	var r CleanupResult
	if err := c.Recv(&r); err != nil {
		return nil, fmt.Errorf("read cleanup's verdict: %w", err)
	}
	s.cl.next, s.cl.nextAt = r.Next, time.Now()
	if r.Status != nil {
		return &r, r.Status
	}
	return &r, nil
}

// Submit sends a whole message in one call.
func (cl *CleanupClient) Submit(ctx context.Context, o *CleanupOpen, content io.Reader) (*CleanupResult, error) {
	s, err := cl.Open(ctx, o)
	if err != nil {
		return nil, err
	}
	if _, err := io.Copy(s, content); err != nil {
		return nil, fmt.Errorf("send content to cleanup: %w", err)
	}
	return s.Finish(ctx)
}

// CleanupServer is the server's side of one connection.
type CleanupServer struct{ C *Conn }

// Next reads the next CleanupOpen; io.EOF when the client is done.
func (s *CleanupServer) Next() (*CleanupOpen, error) {
	var o CleanupOpen
	if err := s.C.Recv(&o); err != nil {
		return nil, err
	}
	return &o, nil
}

// Opened answers CleanupOpen.
func (s *CleanupServer) Opened(r CleanupOpened) error { return s.C.Send(r) }

// Content reads the message content up to its end frame.
func (s *CleanupServer) Content() io.Reader { return s.C.ContentReader() }

// Done sends the verdict.
func (s *CleanupServer) Done(r CleanupResult) error { return s.C.Send(r) }
