package pickup

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/dsn"
	"github.com/postern-mta/postern/internal/maillog"
	"github.com/postern-mta/postern/internal/mtatest"
	"github.com/postern-mta/postern/internal/proto"
	"github.com/postern-mta/postern/queue"
)

// cleanupAnswer gives each message a queue ID of the real form and the
// verdict refuse (nil: accepted).
func cleanupAnswer(refuse *dsn.Status) mtatest.CleanupAnswer {
	return func(n int, _ *proto.CleanupOpen) *proto.CleanupResult {
		return &proto.CleanupResult{QueueID: queue.NewID(time.Now(), uint64(1000+n)), Status: refuse}
	}
}

func setup(t *testing.T) (*Pickup, *mtatest.FakeCleanup, *mtatest.LogBuffer) {
	dir := t.TempDir()
	cfg := &Config{QueueDir: filepath.Join(dir, "q"), HashQueueNames: []string{"deferred"}, HashQueueDepth: 1,
		MyHostname: "mx.example.test", MailName: "Postern", CleanupService: "cleanup",
		ScanInterval: time.Hour, IPCTimeout: 10 * time.Second, Workers: 2}
	log := &mtatest.LogBuffer{}
	p := New(cfg, maillog.New(log, "postern", "pickup", 0))
	if err := p.layout.MakeDirs(-1, -1); err != nil {
		t.Fatal(err)
	}
	fc := mtatest.StartCleanup(t, proto.PublicPath(cfg.QueueDir, "cleanup"), cleanupAnswer(nil))
	return p, fc, log
}

// drop writes a maildrop file as postdrop does.
func drop(t *testing.T, p *Pickup, e *queue.Envelope, content string) string {
	return mtatest.WriteQueueFile(t, p.layout, queue.Maildrop, e, content)
}

func TestPickupSubmits(t *testing.T) {
	p, fc, log := setup(t)
	arrival := time.Date(2026, 11, 22, 11, 7, 19, 0, time.UTC)
	id1 := drop(t, p, &queue.Envelope{Arrival: arrival, Sender: "root", FullName: "Charlie Root",
		Attrs:      []queue.Attr{{Name: "uid", Value: "999"}, {Name: proto.AttrExtractRcpt, Value: "yes"}, {Name: proto.AttrDSNNotify, Value: "NEVER"}, {Name: "client_name", Value: "forged"}},
		Recipients: []queue.Recipient{{Addr: "bob", Notify: "SUCCESS"}}, Flags: queue.FlagTrace}, "Subject: one\n\nbody\n")
	id2 := drop(t, p, &queue.Envelope{Arrival: arrival, Sender: "alice", Recipients: []queue.Recipient{{Addr: "carol"}}}, " starts with a blank\n")
	p.Scan(context.Background())
	got := fc.Messages()
	if len(got) != 2 {
		t.Fatalf("%d submissions", len(got))
	}
	for _, id := range []string{id1, id2} {
		if _, err := os.Stat(p.layout.Path(queue.Maildrop, id)); !os.IsNotExist(err) {
			t.Errorf("maildrop/%s still there", id)
		}
	}
	var s1, s2 mtatest.Submission
	for _, s := range got {
		if s.Open.Sender == "root" {
			s1 = s
		} else {
			s2 = s
		}
	}
	uid := os.Getuid()
	o := s1.Open
	if o.Source != "pickup" || o.Flags != proto.CleanupLocal|proto.CleanupBounceOnReject|proto.CleanupExtractRcpt|proto.CleanupTrace {
		t.Errorf("open %+v", o)
	}
	if o.FullName != "Charlie Root" || !o.Arrival.Equal(arrival) || len(o.Recipients) != 1 || o.Recipients[0].Notify != "SUCCESS" {
		t.Errorf("open %+v", o)
	}
	if proto.Lookup(o.Attrs, "uid") != itoa(uid) || proto.Lookup(o.Attrs, "client_name") != "" ||
		proto.Lookup(o.Attrs, proto.AttrRewriteContext) != "local" || proto.Lookup(o.Attrs, proto.AttrDSNNotify) != "NEVER" {
		t.Errorf("attributes %+v", o.Attrs)
	}
	want := "Received: by mx.example.test (Postern, from userid " + itoa(uid) + ")\n\tid " + s1.QueueID + "; Sun, 22 Nov 2026 11:07:19 +0000 (UTC)\nSubject: one\n\nbody\n"
	if s1.Content != want {
		t.Errorf("content %q\nwant %q", s1.Content, want)
	}
	if !strings.HasSuffix(s2.Content, ")\n\n starts with a blank\n") {
		t.Errorf("content %q", s2.Content)
	}
	for _, want := range []string{s1.QueueID + ": uid=" + itoa(uid) + " from=<root>", s2.QueueID + ": uid=" + itoa(uid) + " from=<alice>"} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestPickupCorruptAndRefused(t *testing.T) {
	p, fc, log := setup(t)
	bad := p.layout.Path(queue.Maildrop, queue.NewID(time.Now(), 77))
	if err := os.WriteFile(bad, []byte("not a queue file"), 0o644); err != nil {
		t.Fatal(err)
	}
	fc.SetAnswer(cleanupAnswer(dsn.Perm("5.1.0", "Error: no recipients specified")))
	id := drop(t, p, &queue.Envelope{Sender: "root"}, "Subject: x\n\n")
	p.Scan(context.Background())
	if n := countFiles(p, queue.Corrupt); n != 2 {
		t.Errorf("%d files in corrupt, want 2", n)
	}
	if n := countFiles(p, queue.Maildrop); n != 0 {
		t.Errorf("%d files left in maildrop", n)
	}
	if n := strings.Count(log.String(), ": moved to corrupt/"); n != 2 {
		t.Errorf("%d corrupt lines in the log:\n%s", n, log)
	}
	if !strings.Contains(log.String(), "warning: maildrop/"+id+": uid=") {
		t.Errorf("log:\n%s", log)
	}
}

func TestPickupCleanupDown(t *testing.T) {
	p, fc, log := setup(t)
	fc.SetAnswer(cleanupAnswer(dsn.Temp("4.3.0", "Error: queue file write error")))
	id := drop(t, p, &queue.Envelope{Sender: "root", Recipients: []queue.Recipient{{Addr: "bob"}}}, "Subject: x\n\n")
	p.Scan(context.Background())
	if _, err := os.Stat(p.layout.Path(queue.Maildrop, id)); err != nil {
		t.Fatalf("the file must wait in maildrop: %v", err)
	}
	if !strings.Contains(log.String(), "will try again") {
		t.Errorf("log:\n%s", log)
	}
	// No cleanup at all.
	os.Remove(proto.PublicPath(p.cfg.QueueDir, "cleanup"))
	p.Scan(context.Background())
	if _, err := os.Stat(p.layout.Path(queue.Maildrop, id)); err != nil {
		t.Fatalf("the file must wait in maildrop: %v", err)
	}
}

// A nudge on public/pickup makes pickup scan.
func TestPickupWakeup(t *testing.T) {
	p, fc, _ := setup(t)
	p.cfg.ScanInterval = time.Hour
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sock := proto.PublicPath(p.cfg.QueueDir, "pickup")
	mtatest.Serve(t, mtatest.ListenUnix(t, sock), func(nc net.Conn) { p.serveControlConn(ctx, nc) })
	ran := make(chan struct{})
	go func() { defer close(ran); p.Run(ctx, nil) }()
	defer func() { cancel(); <-ran }()
	drop(t, p, &queue.Envelope{Sender: "root", Recipients: []queue.Recipient{{Addr: "bob"}}}, "Subject: x\n\n")
	if err := proto.Nudge(sock, proto.ServicePickup, proto.VersionPickup); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if len(fc.Messages()) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no submission after the nudge")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func countFiles(p *Pickup, q string) int {
	ents, _ := os.ReadDir(p.layout.Dir(q))
	return len(ents)
}
