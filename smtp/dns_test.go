package smtp

import (
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/postern-mta/postern/internal/mtatest"
	"github.com/postern-mta/postern/internal/proto"
)

// mxSetup is a DNS server, and sinks on several loopback addresses that
// share one port, so that MX records (which carry no port) can lead to
// each of them with smtp_tcp_port set to that port.
type mxSetup struct {
	dns   *mtatest.DNS
	port  int
	sinks map[string]*mtatest.OptSink // by address
	ta    *testAgent
}

func newMXSetup(t *testing.T, sinkAddrs ...string) *mxSetup {
	t.Helper()
	m := &mxSetup{dns: mtatest.NewDNS(t), sinks: map[string]*mtatest.OptSink{}}
	first := mtatest.NewSinkWith(t, mtatest.SinkOptions{Addr: sinkAddrs[0] + ":0"})
	_, p, _ := net.SplitHostPort(first.Addr)
	m.port, _ = strconv.Atoi(p)
	m.sinks[sinkAddrs[0]] = first
	for _, a := range sinkAddrs[1:] {
		m.sinks[a] = mtatest.NewSinkWith(t, mtatest.SinkOptions{Addr: net.JoinHostPort(a, p)})
	}
	cfg := testConfig(t)
	cfg.DNS = DNSConfig{Servers: []string{m.dns.Addr}, Timeout: 2 * time.Second, Attempts: 1, UseDNS: true}
	cfg.DefaultPort = m.port
	m.ta = startAgent(t, cfg)
	return m
}

func TestMXPreference(t *testing.T) {
	m := newMXSetup(t, "127.0.0.1", "127.0.0.3")
	m.dns.Add(t,
		"remote.test. 60 IN MX 20 mx2.remote.test.",
		"remote.test. 60 IN MX 10 mx1.remote.test.",
		"mx1.remote.test. 60 IN A 127.0.0.3",
		"mx2.remote.test. 60 IN A 127.0.0.1",
	)
	reply, qid := m.ta.send(t, "remote.test", simpleMessage, "bob@remote.test")
	r := reply.Results[0]
	want := "mx1.remote.test[127.0.0.3]:" + strconv.Itoa(m.port)
	if r.Action != proto.ActionRelayed || r.Relay != want || r.RemoteMTA != "mx1.remote.test" {
		t.Fatalf("result = %+v, want relay %s", r, want)
	}
	if m.sinks["127.0.0.3"].Count() != 1 || m.sinks["127.0.0.1"].Count() != 0 {
		t.Errorf("the better MX did not get the message")
	}
	m.ta.logLine(t, qid+`: to=<bob@remote.test>, relay=mx1\.remote\.test\[127\.0\.0\.3\]:\d+, .*status=sent`)
}

func TestMXFailover(t *testing.T) {
	m := newMXSetup(t, "127.0.0.1")
	m.dns.Add(t,
		"remote.test. 60 IN MX 10 mx1.remote.test.",
		"remote.test. 60 IN MX 20 mx2.remote.test.",
		"mx1.remote.test. 60 IN A 127.0.0.2", // nobody listens there
		"mx2.remote.test. 60 IN A 127.0.0.1",
	)
	reply, qid := m.ta.send(t, "remote.test", simpleMessage, "bob@remote.test")
	if r := reply.Results[0]; r.Action != proto.ActionRelayed || !strings.HasPrefix(r.Relay, "mx2.remote.test[127.0.0.1]") {
		t.Fatalf("result = %+v", r)
	}
	m.ta.logLine(t, qid+`: connect to mx1\.remote\.test\[127\.0\.0\.2\]:\d+: Connection refused\n`)
}

func TestMXAllDown(t *testing.T) {
	m := newMXSetup(t, "127.0.0.1")
	m.dns.Add(t,
		"remote.test. 60 IN MX 10 mx1.remote.test.",
		"mx1.remote.test. 60 IN A 127.0.0.2",
		"mx1.remote.test. 60 IN A 127.0.0.4",
	)
	reply, _ := m.ta.send(t, "remote.test", simpleMessage, "bob@remote.test")
	r := reply.Results[0]
	if r.Action != proto.ActionDelayed || r.Status.Enhanced != "4.4.1" || !strings.HasPrefix(r.Reason, "connect to mx1.remote.test[127.0.0.4]:") {
		t.Errorf("result = %+v", r)
	}
	if !reply.DestinationDead {
		t.Error("DestinationDead not set")
	}
}

func TestNoMXUsesAddress(t *testing.T) {
	m := newMXSetup(t, "127.0.0.1")
	m.dns.Add(t, "remote.test. 60 IN A 127.0.0.1")
	reply, _ := m.ta.send(t, "remote.test", simpleMessage, "bob@remote.test")
	if r := reply.Results[0]; r.Action != proto.ActionRelayed || !strings.HasPrefix(r.Relay, "remote.test[127.0.0.1]:") {
		t.Fatalf("result = %+v", r)
	}
}

func TestBracketedHostSkipsMX(t *testing.T) {
	m := newMXSetup(t, "127.0.0.1")
	m.dns.Add(t,
		"relay.test. 60 IN MX 10 elsewhere.test.",
		"relay.test. 60 IN A 127.0.0.1",
	)
	reply, _ := m.ta.send(t, "[relay.test]", simpleMessage, "bob@remote.test")
	if r := reply.Results[0]; r.Action != proto.ActionRelayed || !strings.HasPrefix(r.Relay, "relay.test[127.0.0.1]:") {
		t.Fatalf("result = %+v", r)
	}
}

func TestDomainNotFound(t *testing.T) {
	m := newMXSetup(t, "127.0.0.1")
	reply, qid := m.ta.send(t, "nosuch.test", simpleMessage, "bob@nosuch.test")
	r := reply.Results[0]
	want := "Host or domain name not found. Name service error for name=nosuch.test type=MX: Host not found"
	if r.Action != proto.ActionFailed || r.Status.Enhanced != "5.4.4" || r.Reason != want || r.Relay != "none" {
		t.Errorf("result = %+v, want %q", r, want)
	}
	if reply.DestinationDead {
		t.Error("a name that does not exist marked the destination dead")
	}
	m.ta.logLine(t, qid+`: to=<bob@nosuch.test>, relay=none, .*dsn=5\.4\.4, status=bounced \(Host or domain name not found`)
}

func TestMXHostNotFound(t *testing.T) {
	m := newMXSetup(t, "127.0.0.1")
	m.dns.Add(t, "remote.test. 60 IN MX 10 gone.remote.test.")
	reply, _ := m.ta.send(t, "remote.test", simpleMessage, "bob@remote.test")
	r := reply.Results[0]
	if r.Action != proto.ActionFailed || r.Status.Enhanced != "5.4.4" ||
		r.Reason != "Host or domain name not found. Name service error for name=gone.remote.test type=A: Host not found" {
		t.Errorf("result = %+v", r)
	}
}

func TestNullMX(t *testing.T) {
	m := newMXSetup(t, "127.0.0.1")
	m.dns.Add(t, "remote.test. 60 IN MX 0 .")
	reply, _ := m.ta.send(t, "remote.test", simpleMessage, "bob@remote.test")
	if r := reply.Results[0]; r.Action != proto.ActionFailed || r.Status.Enhanced != "5.1.0" || r.Reason != "Domain remote.test does not accept mail (nullMX)" {
		t.Errorf("result = %+v", r)
	}
}

func TestMXLoopsBack(t *testing.T) {
	m := newMXSetup(t, "127.0.0.1")
	m.dns.Add(t, "remote.test. 60 IN MX 10 mx.example.test.")
	reply, _ := m.ta.send(t, "remote.test", simpleMessage, "bob@remote.test")
	if r := reply.Results[0]; r.Action != proto.ActionFailed || r.Status.Enhanced != "5.4.6" || r.Reason != "mail for remote.test loops back to myself" {
		t.Errorf("result = %+v", r)
	}
}

func TestDNSTimeoutDefers(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0") // reads nothing, answers nothing
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	cfg := testConfig(t)
	cfg.DNS = DNSConfig{Servers: []string{pc.LocalAddr().String()}, Timeout: 200 * time.Millisecond, Attempts: 1, UseDNS: true}
	ta := startAgent(t, cfg)
	reply, _ := ta.send(t, "remote.test", simpleMessage, "bob@remote.test")
	r := reply.Results[0]
	want := "Host or domain name not found. Name service error for name=remote.test type=MX: Host not found, try again"
	if r.Action != proto.ActionDelayed || r.Status.Enhanced != "4.4.3" || r.Reason != want {
		t.Errorf("result = %+v, want %q", r, want)
	}
	if !reply.DestinationDead {
		t.Error("DestinationDead not set")
	}
}

func TestSessionLimit(t *testing.T) {
	m := newMXSetup(t, "127.0.0.1", "127.0.0.3", "127.0.0.5")
	m.sinks["127.0.0.1"].Sink.RcptReply(tempFail)
	m.sinks["127.0.0.3"].Sink.RcptReply(tempFail)
	m.dns.Add(t,
		"remote.test. 60 IN MX 10 mx1.remote.test.",
		"remote.test. 60 IN MX 20 mx2.remote.test.",
		"remote.test. 60 IN MX 30 mx3.remote.test.",
		"mx1.remote.test. 60 IN A 127.0.0.1",
		"mx2.remote.test. 60 IN A 127.0.0.3",
		"mx3.remote.test. 60 IN A 127.0.0.5",
	)
	// Two sessions (smtp_mx_session_limit), each answering 4xx: the
	// third MX is never tried.
	reply, _ := m.ta.send(t, "remote.test", simpleMessage, "bob@remote.test")
	r := reply.Results[0]
	if r.Action != proto.ActionDelayed || !strings.Contains(r.Reason, "mx2.remote.test[127.0.0.3] said: 451") {
		t.Errorf("result = %+v", r)
	}
	if n := len(m.sinks["127.0.0.5"].Mails()); n != 0 {
		t.Errorf("the third MX was tried")
	}
	if reply.DestinationDead {
		t.Error("servers that answered marked the destination dead")
	}
}

func tempFail(string) *smtp.SMTPError {
	return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try later"}
}
