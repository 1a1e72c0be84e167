package pipe

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/maillog"
	"github.com/postern-mta/postern/internal/mtatest"
	"github.com/postern-mta/postern/internal/privexec"
	"github.com/postern-mta/postern/internal/proto"
	"github.com/postern-mta/postern/queue"
)

var root = os.Geteuid() == 0

// testTimeLimit is pipe's time limit in the tests.
var testTimeLimit = 5 * time.Second

type harness struct {
	t      *testing.T
	dir    string
	out    string // a directory the command may write
	layout *queue.Layout
	log    *mtatest.LogBuffer
	client *proto.DeliverClient
}

// startPipe serves a pipe agent named "mypipe" with the master.cf args.
func startPipe(t *testing.T, args ...string) *harness {
	t.Helper()
	dir := t.TempDir()
	os.Chmod(filepath.Dir(dir), 0o755)
	os.Chmod(dir, 0o755)
	h := &harness{t: t, dir: dir, log: &mtatest.LogBuffer{}, layout: queue.NewLayout(filepath.Join(dir, "spool"), nil, 1)}
	if err := h.layout.MakeDirs(-1, -1); err != nil {
		t.Fatal(err)
	}
	h.out = filepath.Join(dir, "out")
	os.Mkdir(h.out, 0o777)
	os.Chmod(h.out, 0o1777)
	for i, a := range args {
		args[i] = strings.ReplaceAll(a, "OUT", h.out)
	}
	a, err := ParseArgs(args)
	if err != nil {
		t.Fatal(err)
	}
	cred := privexec.Cred{UID: uint32(os.Getuid()), GID: uint32(os.Getgid())}
	if root {
		cred = privexec.Cred{UID: 65534, GID: 65534}
	}
	cfg := Config{
		Service: "mypipe", QueueDir: h.layout.Root, HashDepth: 1, Grace: 5 * time.Second, IdleLimit: time.Minute,
		Args: a, Cred: cred, TimeLimit: testTimeLimit, Env: commandEnv([]string{"LANG", "FOO=bar"}),
		RecipientDelimiter: "+", HeaderSizeLimit: 102400,
	}
	agent := NewAgent(cfg, maillog.New(h.log, "postern", "pipe", 9))
	sock := proto.PrivatePath(cfg.QueueDir, "mypipe")
	mtatest.RunServer(t, sock, func(ctx context.Context, lns []net.Listener) error { return agent.Serve(ctx, lns, 0) })
	h.client = mtatest.DialDeliver(t, sock)
	return h
}

func (h *harness) send(content string, rcpts ...string) (string, *proto.DeliverReply) {
	h.t.Helper()
	arrival := time.Now().Add(-time.Second)
	env := &queue.Envelope{Arrival: arrival, Sender: "alice@mx.example.test"}
	req := &proto.DeliverRequest{Queue: queue.Active, Transport: "mypipe", Nexthop: "Piped.test",
		Sender: "alice@mx.example.test", Arrival: arrival, Active: arrival,
		Attrs: []proto.Attr{{Name: proto.AttrClientAddr, Value: "127.0.0.1"}}}
	for _, r := range rcpts {
		env.Recipients = append(env.Recipients, queue.Recipient{Addr: r, Orig: r})
		req.Recipients = append(req.Recipients, proto.DeliverRcpt{Addr: r, Orig: r})
	}
	req.QueueID = mtatest.WriteQueueFile(h.t, h.layout, queue.Active, env, content)
	reply, err := h.client.Deliver(context.Background(), req, time.Minute)
	if err != nil {
		h.t.Fatal(err)
	}
	return req.QueueID, reply
}

func (h *harness) read(name string) string {
	h.t.Helper()
	b, err := os.ReadFile(filepath.Join(h.out, name))
	if err != nil {
		h.t.Fatal(err)
	}
	return string(b)
}

func TestPipeDelivery(t *testing.T) {
	h := startPipe(t, "flags=FRDOX.", "user=nobody",
		"argv=/bin/sh", "-c", `cat > OUT/stdin; echo "$$@" > OUT/args; env > OUT/env; id -u > OUT/uid`, "sh", "${sender}", "${recipient}", "${nexthop}", "${client_address}")
	id, reply := h.send("Subject: x\n\n.dot\nFrom here\n", "x@Piped.test")
	r := reply.Results[0]
	if r.Status == nil || r.Status.Enhanced != "2.0.0" || r.Action != proto.ActionDelivered || r.Reason != "delivered via mypipe service" {
		t.Errorf("result %+v", r)
	}
	if !strings.Contains(h.log.String(), id+": to=<x@Piped.test>, relay=mypipe, delay=") || !strings.Contains(h.log.String(), "dsn=2.0.0, status=sent (delivered via mypipe service)") {
		t.Errorf("log:\n%s", h.log.String())
	}
	stdin := h.read("stdin")
	if !strings.HasPrefix(stdin, "From alice@mx.example.test  ") ||
		!strings.HasSuffix(stdin, "\nReturn-Path: <alice@mx.example.test>\nX-Original-To: x@Piped.test\nDelivered-To: x@piped.test\nSubject: x\n\n..dot\nFrom here\n") {
		t.Errorf("stdin:\n%s", stdin)
	}
	if got := h.read("args"); got != "alice@mx.example.test x@Piped.test Piped.test 127.0.0.1\n" {
		t.Errorf("args %q", got)
	}
	env := h.read("env")
	if !strings.Contains(env, "PATH=/usr/bin:/bin\n") || !strings.Contains(env, "FOO=bar\n") || strings.Contains(env, "HOME=") {
		t.Errorf("environment:\n%s", env)
	}
	if root && strings.TrimSpace(h.read("uid")) != "65534" {
		t.Errorf("command ran as %s, want user= (65534)", h.read("uid"))
	}
}

func TestPipeRecipientsAndStatus(t *testing.T) {
	h := startPipe(t, "flags=", "user=nobody", "argv=/bin/sh", "-c", `echo "$$@" >> OUT/args`, "sh", "--", "${user}")
	_, reply := h.send("Subject: x\n\nbody\n", "a+1@piped.test", "b@piped.test")
	if reply.Results[0].Action != proto.ActionRelayed || reply.Results[1].Action != proto.ActionRelayed {
		t.Errorf("results %+v", reply.Results)
	}
	if got := h.read("args"); got != "-- a b\n" {
		t.Errorf("args %q, want one argument per recipient", got)
	}
}

func TestPipeExitStatuses(t *testing.T) {
	h := startPipe(t, "user=nobody", "argv=/bin/sh", "-c", `case "$$1" in t*) exit 75;; u*) echo no such user; exit 67;; d*) echo 4.2.2 over quota; exit 1;; s*) sleep 10;; esac; exit 3`, "sh", "${user}")
	h2 := h
	for _, tc := range []struct {
		rcpt, enhanced, reason string
	}{
		{"temp@x", "4.3.0", "temporary failure"},
		{"user@x", "5.1.1", "user unknown. Command output: no such user"},
		{"dsn@x", "4.2.2", "over quota"},
		{"other@x", "5.3.0", `Command died with status 3: "/bin/sh"`},
	} {
		_, reply := h2.send("Subject: x\n\nbody\n", tc.rcpt)
		r := reply.Results[0]
		if r.Status == nil || r.Status.Enhanced != tc.enhanced || r.Reason != tc.reason {
			t.Errorf("%s: %+v (%v), want %s %q", tc.rcpt, r, r.Status, tc.enhanced, tc.reason)
		}
	}
	if !strings.Contains(h.log.String(), "to=<temp@x>, relay=mypipe") || !strings.Contains(h.log.String(), "dsn=4.3.0, status=deferred (temporary failure)") {
		t.Errorf("log:\n%s", h.log.String())
	}
}

func TestPipeLoopSizeAndBatchRules(t *testing.T) {
	h := startPipe(t, "flags=D", "size=100", "user=nobody", "argv=/bin/true")
	_, reply := h.send("Delivered-To: x@piped.test\n\nbody\n", "x@piped.test")
	if r := reply.Results[0]; r.Status.Enhanced != "5.4.6" || r.Reason != "mail forwarding loop for x@piped.test" {
		t.Errorf("loop: %+v", r)
	}
	_, reply = h.send("Subject: big\n\n"+strings.Repeat("x", 200)+"\n", "y@piped.test")
	if r := reply.Results[0]; r.Status.Enhanced != "5.2.3" || r.Reason != "message too large" {
		t.Errorf("size: %+v", r)
	}
	_, reply = h.send("Subject: x\n\nbody\n", "a@piped.test", "b@piped.test")
	if r := reply.Results[0]; !r.Status.Temporary() || r.Reason != "mail system configuration error" {
		t.Errorf("flag D with two recipients: %+v", r)
	}
}

func TestPipeTimeLimit(t *testing.T) {
	testTimeLimit = 300 * time.Millisecond
	defer func() { testTimeLimit = 5 * time.Second }()
	h := startPipe(t, "user=nobody", "argv=/bin/sleep", "30")
	start := time.Now()
	_, reply := h.send("Subject: x\n\nbody\n", "x@piped.test")
	if r := reply.Results[0]; r.Status.Enhanced != "5.3.0" || r.Reason != `Command time limit exceeded: "/bin/sleep"` {
		t.Errorf("result %+v", r)
	}
	if el := time.Since(start); el > 20*time.Second {
		t.Errorf("took %s", el)
	}
}
