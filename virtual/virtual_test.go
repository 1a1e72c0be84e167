package virtual

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/maillog"
	"github.com/postern-mta/postern/internal/maps"
	"github.com/postern-mta/postern/internal/mtatest"
	"github.com/postern-mta/postern/internal/privexec/mailbox"
	"github.com/postern-mta/postern/internal/privexec/privexectest"
	"github.com/postern-mta/postern/internal/proto"
	"github.com/postern-mta/postern/queue"
)

func TestMain(m *testing.M) { privexectest.Main(m) }

var root = os.Geteuid() == 0

type harness struct {
	t      testing.TB
	sock   string
	cfg    Config
	layout *queue.Layout
	log    *mtatest.LogBuffer
	client *proto.DeliverClient
}

func table(t testing.TB, spec string) maps.Table {
	t.Helper()
	tb, err := maps.OpenList([]string{spec}, maps.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

func newHarness(t testing.TB) *harness {
	t.Helper()
	dir := t.TempDir()
	os.Chmod(filepath.Dir(dir), 0o755)
	os.Chmod(dir, 0o755)
	queueDir := filepath.Join(dir, "spool")
	h := &harness{t: t, log: &mtatest.LogBuffer{}, layout: queue.NewLayout(queueDir, nil, 1)}
	if err := h.layout.MakeDirs(-1, -1); err != nil {
		t.Fatal(err)
	}
	base := filepath.Join(dir, "vmail")
	os.MkdirAll(base, 0o755)
	uid, gid := "40001", "40002"
	if !root {
		uid, gid = itoa(os.Getuid()), itoa(os.Getgid())
	}
	h.cfg = Config{
		Service:         "virtual",
		QueueDir:        queueDir,
		HashDepth:       1,
		Grace:           5 * time.Second,
		IdleLimit:       time.Minute,
		Hostname:        "vm",
		MailboxBase:     base,
		MailboxMaps:     table(t, "inline:{bob@virt.test=virt.test/bob/, carol@virt.test=virt.test/carol, @catch.test=catch.test/all/}"),
		UIDMaps:         table(t, "static:"+uid),
		GIDMaps:         table(t, "static:"+gid),
		MinimumUID:      100,
		Locking:         mailbox.Locking{Fcntl: true, Dotlock: true, Attempts: 3, Delay: 10 * time.Millisecond},
		HeaderSizeLimit: 102400,
		StepTimeout:     10 * time.Second,
	}
	// The domain directories belong to the mapped user.
	for _, d := range []string{"virt.test", "catch.test"} {
		p := filepath.Join(base, d)
		os.MkdirAll(p, 0o755)
		if root {
			os.Chown(p, 40001, 40002)
		}
	}
	return h
}

func itoa(n int) string { return strconv.Itoa(n) }

func (h *harness) start() {
	h.t.Helper()
	h.cfg.Runner = privexectest.Runner(h.t)
	a := NewAgent(h.cfg, maillog.New(h.log, "postern", "virtual", 77))
	sock := proto.PrivatePath(h.cfg.QueueDir, "virtual")
	h.sock = sock
	h.t.Cleanup(a.Close)
	mtatest.RunServer(h.t, sock, func(ctx context.Context, lns []net.Listener) error { return a.Serve(ctx, lns, 0) })
	h.client = mtatest.DialDeliver(h.t, sock)
}

// send queues content from alice to rcpts and delivers it.
func (h *harness) send(content string, flags uint32, rcpts ...string) (string, *proto.DeliverReply) {
	h.t.Helper()
	arrival := time.Now().Add(-time.Second)
	env := &queue.Envelope{Arrival: arrival, Sender: "alice@example.test"}
	req := &proto.DeliverRequest{Queue: queue.Active, Transport: "virtual", Sender: "alice@example.test",
		Arrival: arrival, Active: arrival, Flags: flags}
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

func (h *harness) wantLog(parts ...string) {
	h.t.Helper()
	for _, l := range strings.Split(h.log.String(), "\n") {
		ok := true
		for _, p := range parts {
			ok = ok && strings.Contains(l, p)
		}
		if ok {
			return
		}
	}
	h.t.Errorf("no log line with %q in:\n%s", parts, h.log.String())
}

func wantStatus(t *testing.T, r proto.RcptResult, enhanced, reason string) {
	t.Helper()
	if r.Status == nil || r.Status.Enhanced != enhanced || r.Reason != reason {
		t.Errorf("result %+v (%v), want %s %q", r, r.Status, enhanced, reason)
	}
}

// tricky has what a Maildir delivery must keep byte for byte: lines that
// SMTP dot-stuffed, 8-bit bytes, a NUL, a CR, a line of 100,000 bytes and
// no final newline.
var tricky = "Subject: =?utf-8?q?caf=C3=A9?=\n\n.\n..two\n.one\nFrom here\ncaf\xc3\xa9 \x00 \r bytes\n" + strings.Repeat("L", 100000) + "\nend"

func TestMaildirByteExact(t *testing.T) {
	h := newHarness(t)
	h.start()
	id, reply := h.send(tricky, 0, "Bob@virt.test")
	wantStatus(t, reply.Results[0], "2.0.0", "delivered to maildir")
	h.wantLog(id+": to=<Bob@virt.test>, relay=virtual, delay=", "dsn=2.0.0, status=sent (delivered to maildir)")
	files, _ := filepath.Glob(filepath.Join(h.cfg.MailboxBase, "virt.test", "bob", "new", "*"))
	if len(files) != 1 {
		t.Fatalf("new/ holds %v", files)
	}
	b, _ := os.ReadFile(files[0])
	want := "Return-Path: <alice@example.test>\nX-Original-To: Bob@virt.test\nDelivered-To: bob@virt.test\n" + tricky + "\n"
	if string(b) != want {
		t.Errorf("Maildir file differs: got %d bytes, want %d", len(b), len(want))
	}
	if root {
		fi, _ := os.Stat(files[0])
		if st := fi.Sys().(*syscall.Stat_t); st.Uid != 40001 || st.Gid != 40002 {
			t.Errorf("file owned by %d:%d, want 40001:40002", st.Uid, st.Gid)
		}
	}
}

func TestMbox(t *testing.T) {
	h := newHarness(t)
	h.start()
	_, reply := h.send("Subject: x\n\nFrom me\n", 0, "carol@virt.test")
	wantStatus(t, reply.Results[0], "2.0.0", "delivered to mailbox")
	b, _ := os.ReadFile(filepath.Join(h.cfg.MailboxBase, "virt.test", "carol"))
	if !strings.HasPrefix(string(b), "From alice@example.test  ") || !strings.HasSuffix(string(b), "\nDelivered-To: carol@virt.test\nSubject: x\n\n>From me\n\n") {
		t.Errorf("mailbox:\n%s", b)
	}
}

func TestCatchAllAndUnknown(t *testing.T) {
	h := newHarness(t)
	h.start()
	_, reply := h.send("Subject: x\n\nbody\n", 0, "anyone@catch.test", "nobody@virt.test")
	wantStatus(t, reply.Results[0], "2.0.0", "delivered to maildir")
	wantStatus(t, reply.Results[1], "5.1.1", `unknown user: "nobody@virt.test"`)
	if reply.Results[1].Action != proto.ActionFailed {
		t.Errorf("unknown user action %s", reply.Results[1].Action)
	}
	h.wantLog("to=<nobody@virt.test>", `dsn=5.1.1, status=bounced (unknown user: "nobody@virt.test")`)
}

func TestMinimumUIDDefers(t *testing.T) {
	h := newHarness(t)
	h.cfg.MinimumUID = 1 << 31
	h.start()
	_, reply := h.send("Subject: x\n\nbody\n", 0, "bob@virt.test")
	r := reply.Results[0]
	if r.Status == nil || !r.Status.Temporary() || !strings.Contains(r.Reason, "bad uid") || !strings.Contains(r.Reason, "virtual_minimum_uid") {
		t.Errorf("below the minimum uid: %+v", r)
	}
	h.wantLog("to=<bob@virt.test>", "status=deferred (recipient bob@virt.test: bad uid")
}

func TestLoopAndLimit(t *testing.T) {
	h := newHarness(t)
	h.cfg.MailboxLimit = 1000
	h.start()
	_, reply := h.send("Delivered-To: bob@virt.test\n\nbody\n", 0, "bob@virt.test")
	wantStatus(t, reply.Results[0], "5.4.6", "mail forwarding loop for bob@virt.test")
	_, reply = h.send("Subject: big\n\n"+strings.Repeat("x", 2000)+"\n", 0, "bob@virt.test")
	if r := reply.Results[0]; r.Status == nil || r.Status.Enhanced != "5.2.2" || !strings.HasPrefix(r.Reason, "maildir delivery failed: ") {
		t.Errorf("over virtual_mailbox_limit: %+v", r)
	}
}

func TestVerify(t *testing.T) {
	h := newHarness(t)
	h.start()
	_, reply := h.send("Subject: x\n\nbody\n", proto.DeliverVerify, "bob@virt.test", "x@virt.test")
	wantStatus(t, reply.Results[0], "2.0.0", "delivers to maildir")
	h.wantLog("to=<bob@virt.test>", "status=deliverable (delivers to maildir)")
	h.wantLog("to=<x@virt.test>", "status=undeliverable")
	if _, err := os.Stat(filepath.Join(h.cfg.MailboxBase, "virt.test", "bob")); !os.IsNotExist(err) {
		t.Errorf("verify created the Maildir: %v", err)
	}
}

func TestBadMailboxPath(t *testing.T) {
	h := newHarness(t)
	h.cfg.MailboxMaps = table(t, "inline:{evil@virt.test=../../etc/evil/}")
	h.start()
	_, reply := h.send("Subject: x\n\nbody\n", 0, "evil@virt.test")
	wantStatus(t, reply.Results[0], "4.3.5", "mail system configuration error")
}
