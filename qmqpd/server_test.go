package qmqpd

import (
	"context"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/dsn"
	"github.com/postern-mta/postern/internal/maillog"
	"github.com/postern-mta/postern/internal/maps"
	"github.com/postern-mta/postern/internal/matchlist"
	"github.com/postern-mta/postern/internal/mtatest"
	"github.com/postern-mta/postern/internal/proto"
)

type fakeSubmit struct {
	mu      sync.Mutex
	opens   []*proto.CleanupOpen
	content []string
	err     error
}

func (f *fakeSubmit) Submit(ctx context.Context, o *proto.CleanupOpen, build func(string) []byte, content []byte) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return "", f.err
	}
	f.opens = append(f.opens, o)
	f.content = append(f.content, string(build("QID1"))+string(content))
	return "QID1", nil
}

// exchange sends one request and returns the reply netstring.
func exchange(t *testing.T, allowed []string, sub *fakeSubmit, req string) (string, string) {
	t.Helper()
	nets, err := matchlist.NewNetworks(allowed, maps.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	logs := &mtatest.LogBuffer{}
	srv := NewServer(Config{MyHostname: "mx.example.test", MailName: "Postern", AuthorizedClients: nets, MessageSizeLimit: 1000, Timeout: 5 * time.Second},
		maillog.New(logs, "postern", "qmqpd", 1), sub)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		srv.ServeConn(context.Background(), c)
		c.Close()
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, req)
	reply, _ := io.ReadAll(c)
	<-done
	return string(reply), logs.String()
}

func packet(msg, sender string, rcpts ...string) string {
	inner := appendNetstring(nil, msg)
	inner = appendNetstring(inner, sender)
	for _, r := range rcpts {
		inner = appendNetstring(inner, r)
	}
	return string(appendNetstring(nil, string(inner)))
}

func TestQMQP(t *testing.T) {
	sub := &fakeSubmit{}
	reply, logs := exchange(t, []string{"127.0.0.0/8"}, sub, packet("Subject: hi\n\nbody\n", "alice@example.test", "bob@example.test"))
	if reply != "19:KOk: queued as QID1," {
		t.Fatalf("reply %q", reply)
	}
	if !strings.Contains(logs, "QID1: client=") {
		t.Fatalf("logs:\n%s", logs)
	}
	o := sub.opens[0]
	if o.Sender != "alice@example.test" || o.Recipients[0].Addr != "bob@example.test" || proto.Lookup(o.Attrs, "protocol_name") != "QMQP" {
		t.Fatalf("envelope %+v", o)
	}
	if !strings.Contains(sub.content[0], "by mx.example.test (Postern) with QMQP id QID1\n\tfor <bob@example.test>; ") ||
		!strings.HasSuffix(sub.content[0], "\nSubject: hi\n\nbody\n") {
		t.Fatalf("content %q", sub.content[0])
	}
}

func TestQMQPErrors(t *testing.T) {
	for _, tc := range []struct {
		allowed []string
		req     string
		err     error
		want    string
		log     string
	}{
		{nil, packet("x", "a"), nil, "D" + "Error: ", "disconnect from"},
		{[]string{"127.0.0.1"}, packet("x\n", "a@b.test"), nil, "DError: no recipients specified,", "warning: NOQUEUE: "},
		{[]string{"127.0.0.1"}, "x:", nil, "Dnetstring format error while receiving QMQP packet header,", "netstring format error while receiving QMQP packet header"},
		{[]string{"127.0.0.1"}, "10:5000:", nil, "Dnetstring length exceeds storage limit while receiving message content,", ""},
		{[]string{"127.0.0.1"}, packet("x\n", "a@b.test", "c@d.test"), dsn.New(550, "5.7.1", "Subject not allowed"), "DError: Subject not allowed,", ""},
		{[]string{"127.0.0.1"}, packet("x\n", "a@b.test", "c@d.test"), io.ErrUnexpectedEOF, "ZError: queue file write error,", "submit to cleanup"},
	} {
		reply, logs := exchange(t, tc.allowed, &fakeSubmit{err: tc.err}, tc.req)
		if !strings.Contains(reply, tc.want) {
			t.Errorf("%q: reply %q, want %q", tc.req, reply, tc.want)
		}
		if !strings.Contains(logs, tc.log) {
			t.Errorf("%q: logs %q, want %q", tc.req, logs, tc.log)
		}
	}
}
