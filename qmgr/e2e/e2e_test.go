// Package e2e holds qmgr's end-to-end scenarios: a real Postern instance
// (internal/mtatest) with SMTP sinks and silent servers on loopback. They
// need the whole path (smtpd, cleanup, qmgr, smtp, bounce) and take longer
// than qmgr's unit tests, so they live apart: "go test ./qmgr/e2e/" or
// "make test".
package e2e

import (
	"context"
	"fmt"
	"net"
	"net/textproto"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/postern-mta/postern/internal/mtatest"
	"github.com/postern-mta/postern/internal/proto"
)

// newInstance is an instance without the system's alias database, which
// the test machine may not have, and without the services these tests do
// not use (so that one not written yet does not stop them).
func newInstance(t *testing.T) *mtatest.Instance {
	in := mtatest.New(t)
	in.Set("alias_maps", "")
	in.Set("alias_database", "")
	var keep []string
	for _, line := range strings.Split(mtatest.DefaultMasterCF(in.SMTPAddr), "\n") {
		switch strings.Fields(line + " x")[0] {
		case "showq", "virtual", "lmtp":
			continue
		case "cleanup":
			// smtpd and local reach cleanup in private/ for now.
			line = "cleanup unix - - n - 0 cleanup"
		}
		keep = append(keep, line)
	}
	in.SetMasterCF(strings.Join(keep, "\n"))
	return in
}

// message is a test message with a marker the sink side can count.
func message(marker string) string {
	return fmt.Sprintf("From: alice@client.test\r\nTo: someone@remote.test\r\nSubject: %s\r\nMessage-ID: <%s@client.test>\r\n\r\nmarker %s\r\n", marker, marker, marker)
}

// submit sends messages over SMTP: sessions clients at once, each sending
// its share of msgs (rcpt, marker) in one session.
func submit(t *testing.T, addr string, sessions int, msgs [][2]string) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, sessions)
	for s := range sessions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := smtp.Dial(addr)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			if err := c.Hello("client.test"); err != nil {
				errs <- err
				return
			}
			for i := s; i < len(msgs); i += sessions {
				if err := c.SendMail("alice@client.test", []string{msgs[i][0]}, strings.NewReader(message(msgs[i][1]))); err != nil {
					errs <- fmt.Errorf("message %s: %w", msgs[i][1], err)
					return
				}
			}
			c.Quit()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

var markerRE = regexp.MustCompile(`marker (\S+)`)

// markers counts the markers a sink received.
func markers(s *mtatest.Sink) map[string]int {
	m := map[string]int{}
	for _, msg := range s.Messages() {
		if k := markerRE.FindSubmatch(msg.Data); k != nil {
			m[string(k[1])]++
		}
	}
	return m
}

// queued counts the message files in the queues that hold mail to deliver.
func queued(in *mtatest.Instance) int {
	return inQueue(in, "incoming") + inQueue(in, "active") + inQueue(in, "deferred")
}

// inQueue counts the files in one queue directory, hashed or not.
func inQueue(in *mtatest.Instance, q string) int {
	n := 0
	filepath.WalkDir(filepath.Join(in.QueueDir, q), func(_ string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			n++
		}
		return nil
	})
	return n
}

// flush asks qmgr to flush, as postqueue -f does.
func flush(t *testing.T, in *mtatest.Instance) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rep, err := proto.Control(ctx, proto.PublicPath(in.QueueDir, "qmgr"), proto.ServiceQmgr, proto.VersionQmgr, proto.ControlRequest{Op: proto.OpFlush})
	if err != nil {
		t.Fatalf("flush: %v", err)
	}
	return rep.Count
}

// bracketed turns "host:port" into the "[host]:port" of a next hop that
// skips MX lookups.
func bracketed(addr string) string {
	h, p, _ := net.SplitHostPort(addr)
	return "[" + h + "]:" + p
}

// closedPort is a loopback port nothing listens on.
func closedPort(t *testing.T) int { return mtatest.FreePort(t) }

// silent listens on loopback and accepts connections but never says a
// word: a destination that never answers.
func silent(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	return ln.Addr().String()
}

// childPID finds the pid of a running daemon of the instance: a child of
// its master whose command line is "postern daemon NAME".
func childPID(t *testing.T, in *mtatest.Instance, name string) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(in.QueueDir, "pid", "master.pid"))
	if err != nil {
		t.Fatalf("read master pid: %v", err)
	}
	master := strings.TrimSpace(string(b))
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		// pid (comm) state ppid …
		f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		if len(f) < 2 || f[1] != master {
			continue
		}
		cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		args := strings.Split(strings.TrimRight(string(cmd), "\x00"), "\x00")
		if len(args) >= 3 && args[1] == "daemon" && args[2] == name {
			return pid
		}
	}
	return 0
}

func TestDownDestinationDefersThenFlushDelivers(t *testing.T) {
	in := newInstance(t)
	port := closedPort(t)
	in.Set("relayhost", fmt.Sprintf("[127.0.0.1]:%d", port))
	in.Set("minimal_backoff_time", "1h")
	in.Set("maximal_backoff_time", "1h")
	in.Start()
	submit(t, in.SMTPAddr, 1, [][2]string{{"bob@remote.test", "down1"}})
	in.WaitLog(`to=<bob@remote.test>, relay=.*status=deferred`, 30*time.Second)
	// A flush takes what is in deferred; the agent logs before qmgr has
	// moved the message there.
	mtatest.WaitFor(t, 10*time.Second, "the message in deferred", func() bool { return inQueue(in, "deferred") == 1 })
	sink := mtatest.NewSinkWith(t, mtatest.SinkOptions{Addr: fmt.Sprintf("127.0.0.1:%d", port)})
	start := time.Now()
	if n := flush(t, in); n != 1 {
		t.Errorf("flush made %d messages due, want 1", n)
	}
	mtatest.WaitFor(t, 10*time.Second, "delivery after the flush", func() bool { return sink.Count() == 1 })
	t.Logf("delivered %v after the flush", time.Since(start).Round(time.Millisecond))
	in.WaitLog(`: removed`, 10*time.Second)
}

func TestLifetimeExpiryBouncesToSender(t *testing.T) {
	in := newInstance(t)
	sink := mtatest.NewSinkWith(t, mtatest.SinkOptions{})
	in.Set("transport_maps", fmt.Sprintf("inline:{{down.test=smtp:[127.0.0.1]:%d}, {client.test=smtp:%s}}",
		closedPort(t), bracketed(sink.Addr)))
	in.Set("maximal_queue_lifetime", "0")
	in.Start()
	submit(t, in.SMTPAddr, 1, [][2]string{{"bob@down.test", "expire1"}})
	in.WaitLog(`: from=<alice@client.test>, status=expired, returned to sender`, 30*time.Second)
	mtatest.WaitFor(t, 30*time.Second, "the bounce at the sender", func() bool { return sink.Count() == 1 })
	m := sink.Messages()[0]
	if m.From != "" || len(m.To) != 1 || m.To[0] != "alice@client.test" || !strings.Contains(string(m.Data), "bob@down.test") {
		t.Errorf("bounce from <%s> to %v:\n%s", m.From, m.To, m.Data)
	}
}

func TestKillQmgrAndAgentLosesNothing(t *testing.T) {
	in := newInstance(t)
	sink := mtatest.NewSinkWith(t, mtatest.SinkOptions{DataReply: func() *smtp.SMTPError {
		time.Sleep(20 * time.Millisecond) // keep deliveries under way when the kills come
		return nil
	}})
	in.Set("relayhost", bracketed(sink.Addr))
	in.Start()
	const n = 80
	var msgs [][2]string
	for i := range n {
		msgs = append(msgs, [2]string{"bob@remote.test", fmt.Sprintf("k%03d", i)})
	}
	done := make(chan struct{})
	go func() { submit(t, in.SMTPAddr, 4, msgs); close(done) }()
	mtatest.WaitFor(t, 30*time.Second, "first deliveries", func() bool { return sink.Count() >= 10 })
	pid := childPID(t, in, "qmgr")
	if pid == 0 {
		t.Fatal("no qmgr process")
	}
	syscall.Kill(pid, syscall.SIGKILL)
	t.Logf("killed qmgr %d after %d deliveries", pid, sink.Count())
	mtatest.WaitFor(t, 30*time.Second, "qmgr restarted", func() bool { p := childPID(t, in, "qmgr"); return p != 0 && p != pid })
	mtatest.WaitFor(t, 30*time.Second, "more deliveries", func() bool { return sink.Count() >= 40 })
	if apid := childPID(t, in, "smtp"); apid != 0 {
		syscall.Kill(apid, syscall.SIGKILL)
		t.Logf("killed smtp %d after %d deliveries", apid, sink.Count())
	}
	<-done
	mtatest.WaitFor(t, 60*time.Second, "every message delivered", func() bool { return len(markers(sink.Sink)) == n && queued(in) == 0 })
	dups := 0
	for _, c := range markers(sink.Sink) {
		dups += c - 1
	}
	t.Logf("%d messages, all delivered, %d duplicates", n, dups)
}

// TestFiftyDestinationsFiveSilent is issue 5's "must show": mail to 45
// healthy destinations flows while 5 never answer. What the test asserts
// is that the healthy mail is all delivered while the silent destinations
// still hold their sessions (smtp_helo_timeout is 300 s, the wait 120 s):
// one dead destination never starves the others. The two rates are logged
// for the record, not compared: rates on a shared machine are noise.
func TestFiftyDestinationsFiveSilent(t *testing.T) {
	if testing.Short() {
		t.Skip("load test")
	}
	const perDest = 20
	in := newInstance(t)
	var sinks []*mtatest.OptSink
	var table strings.Builder
	for i := range 45 {
		s := mtatest.NewSinkWith(t, mtatest.SinkOptions{})
		sinks = append(sinks, s)
		fmt.Fprintf(&table, "ok%02d.test smtp:%s\n", i, bracketed(s.Addr))
	}
	for i := range 5 {
		fmt.Fprintf(&table, "dead%d.test smtp:%s\n", i, bracketed(silent(t)))
	}
	in.Set("transport_maps", "texthash:"+in.WriteFile("transport", table.String()))
	in.Set("smtp_helo_timeout", "300s")
	in.Start()
	delivered := func() int {
		n := 0
		for _, s := range sinks {
			n += s.Count()
		}
		return n
	}
	run := func(round string, withDead bool) float64 {
		var msgs [][2]string
		for k := range perDest {
			for i := range 45 {
				msgs = append(msgs, [2]string{fmt.Sprintf("u@ok%02d.test", i), fmt.Sprintf("%s-%d-%d", round, i, k)})
			}
			if withDead {
				for i := range 5 {
					msgs = append(msgs, [2]string{fmt.Sprintf("u@dead%d.test", i), fmt.Sprintf("%s-dead-%d-%d", round, i, k)})
				}
			}
		}
		before := delivered()
		start := time.Now()
		submit(t, in.SMTPAddr, 20, msgs)
		want := before + 45*perDest
		mtatest.WaitFor(t, 120*time.Second, "the healthy destinations' mail", func() bool { return delivered() >= want })
		el := time.Since(start)
		rate := float64(45*perDest) / el.Seconds()
		t.Logf("%s: %d messages to 45 healthy destinations delivered in %v: %.0f msgs/s", round, 45*perDest, el.Round(time.Millisecond), rate)
		return rate
	}
	base := run("base", false)
	mixed := run("mixed", true)
	t.Logf("with 5 silent destinations the healthy ones get %.0f%% of the rate without them", 100*mixed/base)
}

// cpu is the CPU time a process has used.
func cpu(pid int) time.Duration {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	// After the command: state(0) ppid(1) … utime(11) stime(12), in
	// clock ticks of 1/100 s.
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+s) * 10 * time.Millisecond
}

// TestRelayCPU relays messages to one sink and reports the CPU time qmgr
// (and each other daemon) spends per message. A measurement, run only with
// POSTERN_LOAD set: CPU time on a shared machine is not a pass/fail
// criterion.
func TestRelayCPU(t *testing.T) {
	if os.Getenv("POSTERN_LOAD") == "" {
		t.Skip("a measurement: set POSTERN_LOAD=1 to run it")
	}
	const n = 2000
	in := newInstance(t)
	sink := mtatest.NewSinkWith(t, mtatest.SinkOptions{})
	in.Set("relayhost", bracketed(sink.Addr))
	in.Start()
	var msgs [][2]string
	for i := range n {
		msgs = append(msgs, [2]string{"bob@remote.test", fmt.Sprintf("cpu%d", i)})
	}
	// Warm up: every daemon started and connected.
	submit(t, in.SMTPAddr, 1, [][2]string{{"bob@remote.test", "warm"}})
	mtatest.WaitFor(t, 30*time.Second, "warm-up", func() bool { return sink.Count() == 1 })
	names := []string{"qmgr", "smtp", "smtpd", "cleanup"}
	before := map[string]time.Duration{}
	pids := map[string]int{}
	for _, name := range names {
		pids[name] = childPID(t, in, name)
		before[name] = cpu(pids[name])
	}
	start := time.Now()
	submit(t, in.SMTPAddr, 20, msgs)
	mtatest.WaitFor(t, 120*time.Second, "every message relayed", func() bool { return sink.Count() == n+1 })
	el := time.Since(start)
	var total time.Duration
	var parts []string
	for _, name := range names {
		d := cpu(pids[name]) - before[name]
		total += d
		parts = append(parts, fmt.Sprintf("%s %.3f", name, d.Seconds()*1000/n))
	}
	t.Logf("%d messages relayed in %v (%.0f msgs/s); CPU ms per message: %s; total %.3f",
		n, el.Round(time.Millisecond), n/el.Seconds(), strings.Join(parts, ", "), total.Seconds()*1000/n)
}

// TestErrorDiscardRetryAndDeferTransports routes mail to the error,
// discard and retry transports with transport_maps, and holds a transport
// with defer_transports until a flush.
func TestErrorDiscardRetryAndDeferTransports(t *testing.T) {
	in := newInstance(t)
	sink := mtatest.NewSinkWith(t, mtatest.SinkOptions{})
	in.Set("transport_maps", fmt.Sprintf("inline:{{gone.test=error:5.1.1 this domain is gone}, {junk.test=discard:dropped here}, "+
		"{later.test=retry:4.3.2 come back later}, {held.test=relay:%s}, {client.test=smtp:%s}}", bracketed(sink.Addr), bracketed(sink.Addr)))
	in.Set("defer_transports", "relay")
	in.Set("minimal_backoff_time", "1h")
	in.Set("maximal_backoff_time", "1h")
	in.Start()
	// smtpd refuses recipients that resolve to the error and retry
	// transports, as Postfix's does; local submissions get through.
	for _, m := range [][2]string{{"x@gone.test", "err1"}, {"z@later.test", "retry1"}} {
		if res := in.RunInput(message(m[1]), "sendmail", "-f", "alice@client.test", m[0]); res.Exit != 0 {
			t.Fatalf("sendmail: exit %d: %s", res.Exit, res.Stderr)
		}
	}
	submit(t, in.SMTPAddr, 1, [][2]string{{"y@junk.test", "disc1"}, {"h@held.test", "held1"}})
	in.WaitLog(`error\[\d+\]: \S+: to=<x@gone.test>, relay=none, .*dsn=5.1.1, status=bounced \(this domain is gone\)`, 30*time.Second)
	in.WaitLog(`discard\[\d+\]: \S+: to=<y@junk.test>, relay=none, .*dsn=2.0.0, status=sent \(dropped here\)`, 30*time.Second)
	in.WaitLog(`error\[\d+\]: \S+: to=<z@later.test>, relay=none, .*dsn=4.3.2, status=deferred \(come back later\)`, 30*time.Second)
	in.WaitLog(`qmgr\[\d+\]: \S+: to=<h@held.test>, relay=none, .*dsn=4.3.2, status=deferred \(deferred transport\)`, 30*time.Second)
	// The sender gets the non-delivery report of the error transport.
	mtatest.WaitFor(t, 30*time.Second, "the bounce at the sender", func() bool {
		for _, m := range sink.Messages() {
			if m.From == "" && strings.Contains(string(m.Data), "x@gone.test") {
				return true
			}
		}
		return false
	})
	mtatest.WaitFor(t, 10*time.Second, "two messages in deferred", func() bool { return inQueue(in, "deferred") == 2 })
	if n := flush(t, in); n != 2 {
		t.Errorf("flush made %d messages due, want 2", n)
	}
	mtatest.WaitFor(t, 30*time.Second, "the held message delivered after the flush", func() bool { return markers(sink.Sink)["held1"] == 1 })
}

// TestETRNFlushesOneSite defers mail for two sites, then ETRN flushes
// only the one named (it must be in fast_flush_domains).
func TestETRNFlushesOneSite(t *testing.T) {
	in := newInstance(t)
	portA, portB := closedPort(t), closedPort(t)
	in.Set("transport_maps", fmt.Sprintf("inline:{{remote.test=smtp:[127.0.0.1]:%d}, {other.test=smtp:[127.0.0.1]:%d}}", portA, portB))
	in.Set("fast_flush_domains", "remote.test")
	in.Set("minimal_backoff_time", "1h")
	in.Set("maximal_backoff_time", "1h")
	in.Start()
	submit(t, in.SMTPAddr, 1, [][2]string{{"a@remote.test", "etrn-a"}, {"b@other.test", "etrn-b"}})
	mtatest.WaitFor(t, 30*time.Second, "both in deferred", func() bool { return inQueue(in, "deferred") == 2 })
	sinkA := mtatest.NewSinkWith(t, mtatest.SinkOptions{Addr: fmt.Sprintf("127.0.0.1:%d", portA)})
	sinkB := mtatest.NewSinkWith(t, mtatest.SinkOptions{Addr: fmt.Sprintf("127.0.0.1:%d", portB)})
	c, err := textproto.Dial("tcp", in.SMTPAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	expect := func(cmd string, code int) string {
		t.Helper()
		if cmd != "" {
			if err := c.PrintfLine("%s", cmd); err != nil {
				t.Fatal(err)
			}
		}
		_, msg, err := c.ReadResponse(code)
		if err != nil {
			t.Fatalf("%s: %v", cmd, err)
		}
		return msg
	}
	expect("", 220)
	expect("EHLO client.test", 250)
	expect("ETRN other.test", 459)
	expect("ETRN remote.test", 250)
	mtatest.WaitFor(t, 10*time.Second, "remote.test's mail", func() bool { return sinkA.Count() == 1 })
	time.Sleep(200 * time.Millisecond)
	if sinkB.Count() != 0 {
		t.Error("ETRN remote.test delivered other.test's mail too")
	}
	expect("QUIT", 221)
}

// TestDelayWarningOnce warns the sender once about mail that keeps being
// deferred.
func TestDelayWarningOnce(t *testing.T) {
	in := newInstance(t)
	sink := mtatest.NewSinkWith(t, mtatest.SinkOptions{})
	in.Set("transport_maps", fmt.Sprintf("inline:{{down.test=smtp:[127.0.0.1]:%d}, {client.test=smtp:%s}}", closedPort(t), bracketed(sink.Addr)))
	in.Set("delay_warning_time", "1s")
	in.Start()
	submit(t, in.SMTPAddr, 1, [][2]string{{"bob@down.test", "slow1"}})
	mtatest.WaitFor(t, 30*time.Second, "the delay warning", func() bool { return sink.Count() >= 1 })
	// Several more tries (backoff 1-2s) must not warn again.
	in.WaitLog(`(?s)(qmgr\[\d+\]: \S+: from=<alice@client.test>, size=\d+, nrcpt=1 \(queue active\).*){4}`, 30*time.Second)
	msgs := sink.Messages()
	if len(msgs) != 1 || msgs[0].From != "" || !strings.Contains(string(msgs[0].Data), "bob@down.test") {
		t.Fatalf("%d messages at the sender; first from <%s>:\n%s", len(msgs), msgs[0].From, msgs[0].Data)
	}
}
