package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/postern-mta/postern/internal/mtatest"
)

// filter is an after-queue content filter on loopback, the kind
// FILTER_README describes: a real SMTP server that takes each message,
// adds "X-Filtered: yes" and injects it again into Postern over SMTP
// before it answers.
type filter struct {
	addr     string // where it listens
	reinject string // where it injects the mail again

	mu   sync.Mutex
	seen []string // the markers of the messages filtered
}

func newFilter(t *testing.T, reinject string) *filter {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &filter{addr: ln.Addr().String(), reinject: reinject}
	srv := smtp.NewServer(f)
	srv.Domain = "filter.test"
	srv.ReadTimeout, srv.WriteTimeout = 30*time.Second, 30*time.Second
	srv.MaxMessageBytes = 10 << 20
	go srv.Serve(ln) //nolint:errcheck // ends with Close
	t.Cleanup(func() { srv.Close() })
	return f
}

func (f *filter) NewSession(*smtp.Conn) (smtp.Session, error) { return &filterSession{f: f}, nil }

// count is how many messages went through the filter.
func (f *filter) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.seen)
}

type filterSession struct {
	f    *filter
	from string
	to   []string
}

func (s *filterSession) Mail(from string, _ *smtp.MailOptions) error {
	s.from = from
	return nil
}

func (s *filterSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}

// Data injects the message again and answers as the injection went: a
// filter never takes responsibility for mail it has not passed on.
func (s *filterSession) Data(r io.Reader) error {
	body, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if k := markerRE.FindSubmatch(body); k != nil {
		s.f.mu.Lock()
		s.f.seen = append(s.f.seen, string(k[1]))
		s.f.mu.Unlock()
	}
	out := append([]byte("X-Filtered: yes\r\n"), body...)
	c, err := smtp.Dial(s.f.reinject)
	if err != nil {
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "re-injection failed"}
	}
	defer c.Close()
	if err := c.Hello("filter.test"); err != nil {
		return err
	}
	if err := c.SendMail(s.from, s.to, bytes.NewReader(out)); err != nil {
		var se *smtp.SMTPError
		if errors.As(err, &se) {
			return se
		}
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "re-injection failed"}
	}
	return c.Quit()
}

func (s *filterSession) Reset()        { s.from, s.to = "", nil }
func (s *filterSession) Logout() error { return nil }

// filterInstance is an instance that relays to a sink, with a second
// smtpd on another port for the filter to inject mail into, set up as
// FILTER_README sets it up: no restrictions but mynetworks, and
// "-o content_filter=", which smtpd hands to cleanup so that injected
// mail is not filtered again.
func filterInstance(t *testing.T) (*mtatest.Instance, *mtatest.OptSink, *filter) {
	t.Helper()
	in := newInstance(t)
	sink := mtatest.NewSinkWith(t, mtatest.SinkOptions{})
	in.Set("relayhost", bracketed(sink.Addr))
	reinject := fmt.Sprintf("127.0.0.1:%d", mtatest.FreePort(t))
	in.SetMasterCF(in.MasterCF() + "\n" + reinject + ` inet n - n - - smtpd
    -o content_filter=
    -o smtpd_client_restrictions=
    -o smtpd_helo_restrictions=
    -o smtpd_sender_restrictions=
    -o smtpd_recipient_restrictions=permit_mynetworks,reject
    -o mynetworks=127.0.0.0/8
`)
	return in, sink, newFilter(t, reinject)
}

var filteredRE = regexp.MustCompile(`(?m)\A(?:[^\r\n]+\r\n)*X-Filtered: yes\r\n`)

// wasFiltered reports whether a message has the filter's header.
func wasFiltered(data []byte) bool { return filteredRE.Match(data) }

// sendFrom sends one message from sender to rcpt over SMTP.
func sendFrom(t *testing.T, addr, sender, rcpt, marker string) {
	t.Helper()
	c, err := smtp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("client.test"); err != nil {
		t.Fatal(err)
	}
	if err := c.SendMail(sender, []string{rcpt}, strings.NewReader(message(marker))); err != nil {
		t.Fatalf("message %s: %v", marker, err)
	}
	c.Quit()
}

// port is the port of host:port, for log regexps.
func port(hostport string) string {
	_, p, _ := net.SplitHostPort(hostport)
	return p
}

// TestContentFilter sends mail through content_filter: it reaches the
// filter, comes back through the second smtpd and reaches the sink once,
// with the filter's header; the log shows both legs.
func TestContentFilter(t *testing.T) {
	in, sink, f := filterInstance(t)
	in.Set("content_filter", "smtp:"+bracketed(f.addr))
	in.Start()
	sendFrom(t, in.SMTPAddr, "alice@client.test", "bob@remote.test", "filt1")
	mtatest.WaitFor(t, 30*time.Second, "the filtered message at the sink", func() bool { return sink.Count() == 1 })
	mtatest.WaitFor(t, 10*time.Second, "an empty queue", func() bool { return queued(in) == 0 })
	legs := regexp.MustCompile(`smtp\[\d+\]: (\S+): to=<bob@remote\.test>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:(\d+), .*status=sent`)
	// The agent may write its lines a moment after qmgr removed the file.
	mtatest.WaitFor(t, 10*time.Second, "both legs logged", func() bool { return len(legs.FindAllString(in.Log(), -1)) >= 2 })
	var ids, ports []string
	for _, m := range legs.FindAllStringSubmatch(in.Log(), -1) {
		ids, ports = append(ids, m[1]), append(ports, m[2])
	}
	if len(ids) != 2 || ports[0] != port(f.addr) || ports[1] != port(sink.Addr) || ids[0] == ids[1] {
		t.Fatalf("deliveries: queue IDs %v, ports %v; want the filter's (%s), then the sink's (%s), as two messages\n%s",
			ids, ports, port(f.addr), port(sink.Addr), in.Log())
	}
	for _, id := range ids {
		in.WaitLog(regexp.QuoteMeta(id)+`: removed`, 10*time.Second)
	}
	msgs := sink.Messages()
	if len(msgs) != 1 || f.count() != 1 || !wasFiltered(msgs[0].Data) ||
		markers(sink.Sink)["filt1"] != 1 {
		t.Fatalf("%d messages at the sink, %d through the filter; first:\n%s", len(msgs), f.count(), msgs[0].Data)
	}
	if msgs[0].From != "alice@client.test" || len(msgs[0].To) != 1 || msgs[0].To[0] != "bob@remote.test" {
		t.Errorf("envelope at the sink: from <%s> to %v", msgs[0].From, msgs[0].To)
	}
}

// TestAccessTableFilter routes one sender's mail through the filter with
// an access table FILTER action; other mail goes straight to the sink. A
// FILTER naming a transport that is not in master.cf defers the mail.
func TestAccessTableFilter(t *testing.T) {
	in, sink, f := filterInstance(t)
	in.Set("smtpd_sender_restrictions", fmt.Sprintf("check_sender_access inline:{{filtered@client.test=FILTER smtp:%s}, {broken@client.test=FILTER nosuch:%s}}",
		bracketed(f.addr), bracketed(f.addr)))
	in.Set("minimal_backoff_time", "1h")
	in.Set("maximal_backoff_time", "1h")
	in.Start()
	sendFrom(t, in.SMTPAddr, "filtered@client.test", "bob@remote.test", "acc1")
	sendFrom(t, in.SMTPAddr, "plain@client.test", "bob@remote.test", "acc2")
	sendFrom(t, in.SMTPAddr, "broken@client.test", "bob@remote.test", "acc3")
	mtatest.WaitFor(t, 30*time.Second, "two messages at the sink", func() bool { return sink.Count() == 2 })
	in.WaitLog(`smtpd\[\d+\]: \S+: filter: RCPT from \S+: <filtered@client\.test>: Sender address triggers FILTER smtp:`, 10*time.Second)
	in.WaitLog(`qmgr\[\d+\]: \S+: to=<bob@remote\.test>, relay=none, .*dsn=4\.3\.0, status=deferred \(mail transport unavailable\)`, 30*time.Second)
	in.WaitLog(`qmgr\[\d+\]: warning: \S+: connect to transport private/nosuch: no such file or directory`, 10*time.Second)
	got := map[string]bool{}
	for _, m := range sink.Messages() {
		k := markerRE.FindSubmatch(m.Data)
		if k == nil {
			t.Fatalf("message without a marker:\n%s", m.Data)
		}
		got[string(k[1])] = wasFiltered(m.Data)
	}
	if len(got) != 2 || !got["acc1"] || got["acc2"] || f.count() != 1 {
		t.Errorf("filtered by marker %v (want acc1 filtered, acc2 not), %d through the filter", got, f.count())
	}
	mtatest.WaitFor(t, 10*time.Second, "the broken one in deferred", func() bool { return inQueue(in, "deferred") == 1 })
}
