package e2e

import (
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/postern-mta/postern/internal/mtatest"
)

// t06: "postfix reload" twice while mail flows in over SMTP and out to a
// relayhost; the first reload moves relayhost to another server. Every
// acknowledged message arrives exactly once, the new relayhost gets the
// mail sent after the reload, and master keeps its pid.
func TestT06ReloadWhileMailFlows(t *testing.T) {
	t.Parallel()
	const n = 60
	in := newInstance(t)
	slow := func() *smtp.SMTPError {
		time.Sleep(10 * time.Millisecond) // keep deliveries under way when the reload comes
		return nil
	}
	before := mtatest.NewSinkWith(t, mtatest.SinkOptions{DataReply: slow})
	after := mtatest.NewSinkWith(t, mtatest.SinkOptions{DataReply: slow})
	in.Set("relayhost", bracketed(before.Addr))
	in.Start()
	master := masterPID(t, in)

	f := startFlow(t, in.SMTPAddr, "flow@remote.test", n, 3)
	f.allow(n / 3)
	f.waitAcked(t, n/6)
	oldQmgr := pidsOf(t, in, "qmgr")
	in.Set("relayhost", bracketed(after.Addr))
	in.Reload() // with a third of the messages under way
	in.WaitLog(`postern/master\[\d+\]: reload -- version`, 5*time.Second)
	// The new relayhost applies to what the new qmgr schedules, and it
	// takes over once the old one has finished the deliveries it had
	// under way: on a loaded machine (CI) the old one went on for the
	// whole flow when the rest was let go at once.
	mtatest.WaitFor(t, 30*time.Second, "the qmgr from before the reload gone", func() bool {
		for _, pid := range pidsOf(t, in, "qmgr") {
			if contains(oldQmgr, pid) {
				return false
			}
		}
		return true
	})
	f.allow(2 * n / 3)
	f.waitAcked(t, n/2)
	in.Reload()
	f.allow(n)

	if dups := f.checkNothingLost(t, in, before.Sink, after.Sink); dups != 0 {
		t.Errorf("%d messages delivered twice across a reload", dups)
	}
	t.Logf("%d messages went to the first relayhost, %d to the one set by the reload", before.Count(), after.Count())
	if after.Count() < n/3 {
		t.Errorf("the relayhost set by the reload got %d messages, want at least the %d sent after it", after.Count(), n/3)
	}
	if got := masterPID(t, in); got != master {
		t.Errorf("master pid %d after the reloads, was %d", got, master)
	}
}
