package discard

import (
	"context"
	"net"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/maillog"
	"github.com/postern-mta/postern/internal/mtatest"
	"github.com/postern-mta/postern/internal/proto"
)

// start serves an agent on a Unix socket and returns a client of it.
func start(t *testing.T, m mode) (*proto.DeliverClient, *mtatest.LogBuffer) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "agent")
	logs := &mtatest.LogBuffer{}
	now := time.Date(2026, 11, 22, 11, 7, 20, 0, time.UTC)
	a := &agent{mode: m, log: maillog.New(logs, "postern", "discard", 42), now: func() time.Time { return now }}
	mtatest.RunServer(t, path, func(ctx context.Context, lns []net.Listener) error { return a.serve(ctx, lns, 0, time.Second) })
	return mtatest.DialDeliver(t, path), logs
}

func request(nexthop, errorText string, flags uint32) *proto.DeliverRequest {
	arrival := time.Date(2026, 11, 22, 11, 7, 19, 0, time.UTC)
	return &proto.DeliverRequest{
		Queue: "active", QueueID: "4jXRDB400qz1SCHg", Transport: "error", Nexthop: nexthop, ErrorText: errorText,
		Sender:     "alice@mx.example.test",
		Recipients: []proto.DeliverRcpt{{Addr: "bob@example.test", Offset: 100}, {Addr: "carol@example.test", Orig: "c@example.test", Offset: 200}},
		Arrival:    arrival, Active: arrival.Add(500 * time.Millisecond), Flags: flags,
	}
}

func TestAgents(t *testing.T) {
	tests := []struct {
		name       string
		mode       mode
		nexthop    string
		errorText  string
		flags      uint32
		wantDSN    string
		wantAction string
		wantReason string
		wantLog    string
	}{
		{"discard with text", modeDiscard, "silently dropped", "", 0, "2.0.0", "delivered", "silently dropped",
			`postern/discard\[42\]: 4jXRDB400qz1SCHg: to=<bob@example.test>, relay=none, delay=1.0, delays=0.50/0.50/0/0, dsn=2.0.0, status=sent \(silently dropped\)`},
		{"discard without text", modeDiscard, "", "", 0, "2.0.0", "delivered", "discarded", `status=sent \(discarded\)`},
		{"error with code", modeBounce, "5.1.1 no such user", "", 0, "5.1.1", "failed", "no such user",
			`4jXRDB400qz1SCHg: to=<carol@example.test>, orig_to=<c@example.test>, relay=none, delay=1.0, delays=0.50/0.50/0/0, dsn=5.1.1, status=bounced \(no such user\)`},
		{"error text wins over nexthop", modeBounce, "x", "5.7.1 go away", 0, "5.7.1", "failed", "go away", `dsn=5.7.1, status=bounced \(go away\)`},
		{"error without code", modeBounce, "User unknown in virtual alias table", "", 0, "5.0.0", "failed",
			"User unknown in virtual alias table", `dsn=5.0.0, status=bounced \(User unknown in virtual alias table\)`},
		{"error with a temporary code still bounces", modeBounce, "4.3.2 busy", "", 0, "5.3.2", "failed", "busy", `dsn=5.3.2, status=bounced \(busy\)`},
		{"error with SMTP code", modeBounce, "550 5.1.2 bad host", "", 0, "5.1.2", "failed", "bad host", `dsn=5.1.2, status=bounced \(bad host\)`},
		{"error without any text", modeBounce, "", "", 0, "5.0.0", "failed", "Address is undeliverable", `status=bounced \(Address is undeliverable\)`},
		{"retry", modeDefer, "4.3.2 try later", "", 0, "4.3.2", "delayed", "try later", `dsn=4.3.2, status=deferred \(try later\)`},
		{"retry with a permanent code defers", modeDefer, "5.1.1 gone", "", 0, "4.1.1", "delayed", "gone", `dsn=4.1.1, status=deferred \(gone\)`},
		{"retry without code", modeDefer, "later", "", 0, "4.0.0", "delayed", "later", `dsn=4.0.0, status=deferred \(later\)`},
		{"verify error", modeBounce, "5.1.1 no such user", "", proto.DeliverVerify, "5.1.1", "failed", "no such user", `status=undeliverable \(no such user\)`},
		{"verify discard", modeDiscard, "", "", proto.DeliverVerify, "2.0.0", "delivered", "discarded", `status=deliverable \(discarded\)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, logs := start(t, tt.mode)
			req := request(tt.nexthop, tt.errorText, tt.flags)
			// Two requests on one connection: qmgr reuses connections.
			for range 2 {
				rep, err := c.Deliver(context.Background(), req, 10*time.Second)
				if err != nil {
					t.Fatal(err)
				}
				if rep.Status != nil || len(rep.Results) != 2 {
					t.Fatalf("reply %+v", rep)
				}
				for _, r := range rep.Results {
					if r.Status.Enhanced != tt.wantDSN || r.Action != tt.wantAction || r.Reason != tt.wantReason {
						t.Errorf("result %+v (status %v), want dsn %s action %s reason %q", r, r.Status, tt.wantDSN, tt.wantAction, tt.wantReason)
					}
				}
			}
			if !regexp.MustCompile(tt.wantLog).MatchString(logs.String()) {
				t.Errorf("log:\n%s\nwant a line matching %s", logs, tt.wantLog)
			}
			if n := strings.Count(logs.String(), "\n"); n != 4 {
				t.Errorf("log has %d lines, want 4 (2 requests × 2 recipients):\n%s", n, logs)
			}
		})
	}
}

func TestStatusClass(t *testing.T) {
	rep := (&agent{mode: modeBounce, log: maillog.Discard(), now: time.Now}).deliver(request("5.1.1 x", "", 0))
	if !rep.Results[0].Status.Permanent() {
		t.Errorf("error agent status %v is not permanent", rep.Results[0].Status)
	}
	rep = (&agent{mode: modeDefer, log: maillog.Discard(), now: time.Now}).deliver(request("5.1.1 x", "", 0))
	if !rep.Results[0].Status.Temporary() {
		t.Errorf("retry agent status %v is not temporary", rep.Results[0].Status)
	}
}
