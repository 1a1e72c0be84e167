package agent

import (
	"bytes"
	"regexp"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/dsn"
	"github.com/postern-mta/postern/internal/maillog"
	"github.com/postern-mta/postern/internal/proto"
)

func TestStatusAndResult(t *testing.T) {
	tests := []struct {
		enhanced   string
		code       int
		word       string
		verifyWord string
		action     string
	}{
		{"2.0.0", 250, "sent", "deliverable", proto.ActionRelayed},
		{"4.3.0", 450, "deferred", "undeliverable", proto.ActionDelayed},
		{"5.1.1", 550, "bounced", "undeliverable", proto.ActionFailed},
	}
	for _, tt := range tests {
		st := Status(tt.enhanced, "why")
		if st.Code != tt.code || st.Enhanced != tt.enhanced || st.Text != "why" {
			t.Errorf("Status(%s) = %+v", tt.enhanced, st)
		}
		if w := StatusWord(st, false); w != tt.word {
			t.Errorf("StatusWord(%s) = %s, want %s", tt.enhanced, w, tt.word)
		}
		if w := StatusWord(st, true); w != tt.verifyWord {
			t.Errorf("StatusWord(%s, verify) = %s, want %s", tt.enhanced, w, tt.verifyWord)
		}
		r := Result(st, proto.ActionRelayed, "mypipe")
		if r.Action != tt.action || r.Status != st || r.Reason != "why" || r.Diag != "why" || r.DiagType != "X-Postfix" || r.Relay != "mypipe" {
			t.Errorf("Result(%s) = %+v", tt.enhanced, r)
		}
	}
}

// The delivery line has Postfix's shape; the delays add up to the time
// the message spent before and in the delivery.
func TestDeliveryLine(t *testing.T) {
	now := time.Now()
	req := &proto.DeliverRequest{QueueID: "4jXRDB400qz1SCHg", Arrival: now.Add(-3 * time.Second), Active: now.Add(-time.Second)}
	var b bytes.Buffer
	log := maillog.New(&b, "postern", "virtual", 77)
	log.Delivery(DeliveryLine(req, "bob@virt.test", "b@virt.test", "virtual", dsn.OK("2.0.0", "delivered to maildir"), now))
	want := `^postern/virtual\[77\]: 4jXRDB400qz1SCHg: to=<bob@virt\.test>, orig_to=<b@virt\.test>, relay=virtual, ` +
		`delay=3(\.0)?, delays=2(\.0)?/1(\.0)?/0/0(\.0\d)?, dsn=2\.0\.0, status=sent \(delivered to maildir\)\n$`
	if !regexp.MustCompile(want).MatchString(b.String()) {
		t.Errorf("log line %q\nwant %s", b.String(), want)
	}
	req.Flags = proto.DeliverVerify
	if d := DeliveryLine(req, "x@y.test", "", "virtual", Status("5.1.1", "unknown user"), now); d.Status != "undeliverable" || d.DSN != "5.1.1" {
		t.Errorf("verify line %+v", d)
	}
}
