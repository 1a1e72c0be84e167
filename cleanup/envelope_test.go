package cleanup

import (
	"strings"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/proto"
	"github.com/postern-mta/postern/queue"
)

func rcptList(f *queue.File) string {
	var out []string
	for _, r := range f.Envelope.Recipients {
		s := r.Addr
		if r.Notify != "" {
			s += "/" + r.Notify
		}
		out = append(out, s)
	}
	return strings.Join(out, ",")
}

// Blind copies, the delay warning time, sendmail -bv/-v, hold requests,
// duplicates and DSN fields end up in the queue file as they should.
func TestEnvelope(t *testing.T) {
	s := newTestServer(t, func(c *Config) {
		c.AlwaysBcc = "archive"
		c.SenderBcc = table(t, "inline", "{alice@mx.example.test=sent@copies.test}")
		c.RecipientBcc = table(t, "inline", "{bob@mx.example.test=bobcopy@copies.test}")
		c.VirtualAlias = table(t, "inline", "{{team@mx.example.test=bob@mx.example.test, carol@x.test}}")
		c.DelayWarning = 4 * time.Hour
	})
	o := localOpen("alice", "team", "bob", "bob")
	o.Flags |= proto.CleanupVerify | proto.CleanupTrace
	o.DSNRet, o.DSNEnvID = "FULL", "env-1"
	o.Recipients[0].Notify = "SUCCESS,FAILURE"
	res, err := s.submit(o, "Subject: x\n\nbody\n")
	if err != nil {
		t.Fatal(err)
	}
	_, f := s.queued(res.QueueID)
	e := f.Envelope
	want := "bob@mx.example.test/SUCCESS,FAILURE,carol@x.test/SUCCESS,FAILURE,bob@mx.example.test,bobcopy@copies.test,sent@copies.test,archive@mx.example.test"
	if got := rcptList(f); got != want {
		t.Errorf("recipients\n%s\nwant\n%s", got, want)
	}
	if e.Recipients[0].Orig != "team" || e.Recipients[2].Orig != "bob" {
		t.Errorf("original recipients %+v", e.Recipients)
	}
	if !e.WarnTime.Equal(arrival.Add(4 * time.Hour).Truncate(time.Second)) {
		t.Errorf("warn time %v", e.WarnTime)
	}
	if e.Flags != queue.FlagVerify|queue.FlagTrace || e.DSNRet != "FULL" || e.DSNEnvID != "env-1" {
		t.Errorf("envelope %+v", e)
	}

	// A submitter may ask for hold.
	o = smtpOpen("192.0.2.7", "a@b.test", "bob@mx.example.test")
	o.Flags |= proto.CleanupHold
	res, err = s.submit(o, "Subject: x\n\nbody\n")
	if err != nil || !res.Held {
		t.Fatalf("hold: %+v %v", res, err)
	}
	if q, _ := s.queued(res.QueueID); q != queue.Hold {
		t.Errorf("held message in %s", q)
	}
	o = smtpOpen("192.0.2.7", "a@b.test", "bob@mx.example.test")
	o.Queue = queue.Hold
	if res, err = s.submit(o, "Subject: x\n\nbody\n"); err != nil || !res.Held {
		t.Fatalf("queue hold: %+v %v", res, err)
	}
}

// undisclosed_recipients_header is added to local mail without To:/Cc:.
func TestUndisclosedRecipients(t *testing.T) {
	s := newTestServer(t, func(c *Config) { c.UndisclosedRecipientsHeader = "To: undisclosed-recipients:;" })
	res, err := s.submit(localOpen("alice", "bob"), "Subject: x\n\nbody\n")
	if err != nil {
		t.Fatal(err)
	}
	_, f := s.queued(res.QueueID)
	if c := content(t, f); !strings.Contains(c, "\nTo: undisclosed-recipients:;\n\nbody\n") {
		t.Errorf("content:\n%s", c)
	}
	res, err = s.submit(localOpen("alice", "bob"), "Cc: carol\nSubject: x\n\nbody\n")
	if err != nil {
		t.Fatal(err)
	}
	_, f = s.queued(res.QueueID)
	if c := content(t, f); strings.Contains(c, "undisclosed") {
		t.Errorf("content:\n%s", c)
	}
}

// A message without any recipient, even after -t, is refused.
func TestNoRecipients(t *testing.T) {
	s := newTestServer(t, nil)
	o := localOpen("alice")
	o.Flags |= proto.CleanupExtractRcpt
	_, err := s.submit(o, "Subject: x\n\nbody\n")
	if err == nil || !strings.Contains(err.Error(), "550 5.1.0 Error: no recipients specified") {
		t.Fatalf("got %v", err)
	}
}
