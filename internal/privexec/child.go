package privexec

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"github.com/postern-mta/postern/internal/dsn"
	"github.com/postern-mta/postern/internal/proto"
)

// Op is a step a helper runs with the rights it was started with. params
// is the JSON the caller passed; content is the byte stream the caller
// sent (the message), which the op may read partly or not at all. ctx ends
// at the caller's deadline. An Op reports every outcome in its Result; it
// must not panic on bad params.
type Op func(ctx context.Context, params json.RawMessage, content io.Reader) Result

// Result is an op's outcome.
type Result struct {
	// Status is the outcome: 2.x.x success, 4.x.x temporary, 5.x.x
	// permanent. Its Text is the reason for the log and the bounce.
	Status *dsn.Status `json:"status"`
	// Data is op-specific output (JSON), for example a file's contents.
	Data json.RawMessage `json:"data,omitempty"`
	// Warnings are logged by the caller ("perhaps you need to create the
	// maildirs in advance").
	Warnings []string `json:"warnings,omitempty"`
}

// OK returns a success Result with text.
func OK(format string, args ...any) Result {
	return Result{Status: dsn.OK("2.0.0", format, args...)}
}

// Fail returns a failure Result: enhanced is 4.x.x or 5.x.x.
func Fail(enhanced, format string, args ...any) Result {
	st := dsn.Perm(enhanced, format, args...)
	if enhanced != "" && enhanced[0] == '4' {
		st.Code = 450
	}
	return Result{Status: st}
}

// request is one call, as sent to a helper.
type request struct {
	Op       string          `json:"op"`
	Params   json.RawMessage `json:"params,omitempty"`
	Deadline time.Time       `json:"deadline"`
}

// Limits on the helper side of the socket.
const (
	// helperIdleLimit is the longest a helper waits for its next request;
	// the parent normally closes an idle helper long before.
	helperIdleLimit = 10 * time.Minute
)

var (
	opsMu sync.RWMutex
	ops   = map[string]Op{}
)

// Register makes op available to helpers under name. It is meant for init
// functions; registering a name twice panics.
func Register(name string, op Op) {
	opsMu.Lock()
	defer opsMu.Unlock()
	if _, dup := ops[name]; dup {
		panic("privexec: op registered twice: " + name)
	}
	ops[name] = op
}

func lookupOp(name string) (Op, bool) {
	opsMu.RLock()
	defer opsMu.RUnlock()
	op, ok := ops[name]
	return op, ok
}

// Main is the body of "postern privexec": a helper that serves requests on
// its standard input, a Unix socket to the process that started it, until
// that process closes it. The exit status is 0 after a clean end, 1 when
// the socket breaks or is not a socket.
func Main(args []string) int {
	if len(args) != 0 {
		fmt.Fprintln(os.Stderr, "postern privexec: takes no arguments: it is started by delivery agents")
		return 1
	}
	nc, err := net.FileConn(os.Stdin)
	if err != nil {
		fmt.Fprintf(os.Stderr, "postern privexec: standard input is not a socket: %v\n", err)
		return 1
	}
	os.Stdin.Close()
	if err := serve(nc); err != nil {
		fmt.Fprintf(os.Stderr, "postern privexec: %v\n", err)
		return 1
	}
	return 0
}

// serve answers requests on nc until the peer closes it.
func serve(nc net.Conn) error {
	defer nc.Close()
	c := proto.NewConn(nc)
	for {
		c.Timeout = helperIdleLimit
		var req request
		if err := c.Recv(&req); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("read request: %w", err)
		}
		c.Timeout = time.Until(req.Deadline) + 5*time.Second
		if c.Timeout <= 5*time.Second {
			c.Timeout = 5 * time.Second
		}
		res := run(&req, c.ContentReader())
		if err := c.Send(res); err != nil {
			return fmt.Errorf("send result of %s: %w", req.Op, err)
		}
	}
}

// run runs one request and drains what the op left of the content, so the
// next request starts at a frame boundary.
func run(req *request, content io.Reader) (res Result) {
	ctx, cancel := context.WithDeadline(context.Background(), req.Deadline)
	defer cancel()
	defer func() {
		if _, err := io.Copy(io.Discard, content); err != nil && res.Status.Success() {
			res = Fail("4.3.0", "read message content: %v", err)
		}
		if res.Status == nil {
			res.Status = dsn.Temp("4.3.0", "%s: no status", req.Op)
		}
	}()
	op, ok := lookupOp(req.Op)
	if !ok {
		return Fail("4.3.0", "unknown privexec operation %q", req.Op)
	}
	return op(ctx, req.Params, content)
}
