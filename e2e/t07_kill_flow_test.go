package e2e

import (
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/postern-mta/postern/internal/mtatest"
)

// t07: kill -9 of cleanup, then qmgr, then the smtp agent, each while
// mail flows in over SMTP and out to a relayhost. Master starts each
// again, clients that lost a session send again, and every acknowledged
// message arrives: at worst twice, never zero times.
func TestT07KillDaemonsWhileMailFlows(t *testing.T) {
	t.Parallel()
	const n = 90
	in := newInstance(t)
	sink := mtatest.NewSinkWith(t, mtatest.SinkOptions{DataReply: func() *smtp.SMTPError {
		time.Sleep(10 * time.Millisecond) // keep deliveries under way when the kills come
		return nil
	}})
	in.Set("relayhost", bracketed(sink.Addr))
	in.Start()
	f := startFlow(t, in.SMTPAddr, "flow@remote.test", n, 3)

	// cleanup, in the middle of the first third of the messages.
	f.allow(n / 3)
	f.waitAcked(t, n/10)
	killed := killDaemon(t, in, "cleanup")
	t.Logf("killed cleanup %v with %d messages acknowledged", killed, f.ackedCount())

	// qmgr, with messages arriving and deliveries under way.
	f.allow(2 * n / 3)
	f.waitAcked(t, n/2)
	// Master starts cleanup again for the next client that needs it.
	waitRestarted(t, in, "cleanup", killed)
	killed = killDaemon(t, in, "qmgr")
	t.Logf("killed qmgr %v with %d messages acknowledged, %d delivered", killed, f.ackedCount(), sink.Count())
	waitRestarted(t, in, "qmgr", killed)

	// The smtp agent, in the middle of deliveries.
	f.allow(n)
	f.waitAcked(t, 5*n/6)
	mtatest.WaitFor(t, 10*time.Second, "an smtp agent delivering", func() bool { return len(pidsOf(t, in, "smtp")) > 0 })
	killed = killDaemon(t, in, "smtp")
	t.Logf("killed smtp %v with %d messages acknowledged, %d delivered", killed, f.ackedCount(), sink.Count())

	f.checkNothingLost(t, in, sink.Sink)
	for _, cmd := range []string{"cleanup", "qmgr", "smtp"} {
		in.WaitLog(`postern/master\[\d+\]: warning: process `+cmd+` pid \d+ killed by signal 9`, time.Second)
	}
}
