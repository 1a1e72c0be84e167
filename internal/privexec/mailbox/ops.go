package mailbox

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/postern-mta/postern/internal/dsn"
	"github.com/postern-mta/postern/internal/privexec"
)

// The privexec operations this package registers.
const (
	OpMbox    = "mbox"
	OpMaildir = "maildir"
)

func init() {
	privexec.Register(OpMbox, mboxOp)
	privexec.Register(OpMaildir, maildirOp)
}

func mboxOp(_ context.Context, params json.RawMessage, content io.Reader) privexec.Result {
	var p MboxParams
	if err := json.Unmarshal(params, &p); err != nil || p.Path == "" {
		return privexec.Fail("4.3.0", "mbox: bad parameters: %s", params)
	}
	data, st := appendMbox(&p, content)
	return result(st, data, nil)
}

func maildirOp(_ context.Context, params json.RawMessage, content io.Reader) privexec.Result {
	var p MaildirParams
	if err := json.Unmarshal(params, &p); err != nil || p.Dir == "" {
		return privexec.Fail("4.3.0", "maildir: bad parameters: %s", params)
	}
	var warnings []string
	data, st := writeMaildir(&p, content, func(w string) { warnings = append(warnings, w) })
	return result(st, data, warnings)
}

func result(st *dsn.Status, data any, warnings []string) privexec.Result {
	if st != nil {
		return privexec.Result{Status: st, Warnings: warnings}
	}
	res := privexec.OK("delivered")
	res.Data, _ = json.Marshal(data)
	res.Warnings = warnings
	return res
}

// Outcome is how a mailbox delivery ended. Status is nil on success;
// otherwise its Text is the file system's reason, for the caller to put in
// its own words ("cannot update mailbox …", "maildir delivery failed: …").
type Outcome struct {
	Status   *dsn.Status
	Offset   int64  // mbox: where the message starts
	Path     string // Maildir: the file delivered
	Warnings []string
}

// DeliverMbox appends msg (already in mbox form, see Mbox and Copy) to an
// mbox file with cred's rights through r. An error means the helper could
// not do its work: temporary.
func DeliverMbox(ctx context.Context, r *privexec.Runner, cred *privexec.Cred, p MboxParams, msg io.Reader, timeout time.Duration) (*Outcome, error) {
	out, d, err := deliver[MboxData](ctx, r, cred, OpMbox, p, msg, timeout, "mbox "+p.Path)
	if d != nil {
		out.Offset = d.Offset
	}
	return out, err
}

// DeliverMaildir writes msg (already in Maildir form) into a Maildir with
// cred's rights through r. An error means the helper could not do its
// work: temporary.
func DeliverMaildir(ctx context.Context, r *privexec.Runner, cred *privexec.Cred, p MaildirParams, msg io.Reader, timeout time.Duration) (*Outcome, error) {
	out, d, err := deliver[MaildirData](ctx, r, cred, OpMaildir, p, msg, timeout, "maildir "+p.Dir)
	if d != nil {
		out.Path = d.Path
	}
	return out, err
}

// deliver runs op through the helper and, when it succeeded, decodes what
// it reports into D (nil otherwise). what names the mailbox in errors.
func deliver[D any](ctx context.Context, r *privexec.Runner, cred *privexec.Cred, op string, params any, msg io.Reader, timeout time.Duration, what string) (*Outcome, *D, error) {
	res, err := r.Do(ctx, cred, op, params, msg, timeout)
	if err != nil {
		return nil, nil, err
	}
	out := &Outcome{Warnings: res.Warnings}
	if !res.Status.Success() {
		out.Status = res.Status
		return out, nil, nil
	}
	var d D
	if err := json.Unmarshal(res.Data, &d); err != nil {
		return nil, nil, fmt.Errorf("%s: bad result: %w", what, err)
	}
	return out, &d, nil
}
