package local

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/postern-mta/postern/internal/proto"
	"github.com/postern-mta/postern/queue"
)

func fileOwner(t *testing.T, path string) (uint32, uint32) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	return st.Uid, st.Gid
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func wantResult(t *testing.T, r proto.RcptResult, enhanced, action, reason string) {
	t.Helper()
	if r.Status == nil || r.Status.Enhanced != enhanced || r.Action != action || (reason != "" && r.Reason != reason) {
		t.Errorf("result %+v (status %v), want %s %s %q", r, r.Status, enhanced, action, reason)
	}
}

var fromLine = regexp.MustCompile(`^From alice@example\.test  [A-Z][a-z]{2} [A-Z][a-z]{2} [ 0-9]\d \d\d:\d\d:\d\d \d{4}\n`)

func TestMboxInSpool(t *testing.T) {
	h := newHarness(t)
	bob := h.addUser("bob", 40001)
	h.start()
	id, reply := h.send("Bob@mx.example.test")
	wantResult(t, reply.Results[0], "2.0.0", proto.ActionDelivered, "delivered to mailbox")
	h.wantLog("Bob@mx.example.test", id+": to=<Bob@mx.example.test>, relay=local, delay=", "dsn=2.0.0, status=sent (delivered to mailbox)")
	mbox := filepath.Join(h.cfg.MailSpoolDirectory, "bob")
	got := readFile(t, mbox)
	if !fromLine.MatchString(got) {
		t.Errorf("mailbox does not start with a From_ line:\n%s", got)
	}
	want := "Return-Path: <alice@example.test>\nX-Original-To: Bob@mx.example.test\nDelivered-To: bob@mx.example.test\n" +
		"Received: from client.example.test\nFrom: alice@example.test\nSubject: hello\n\n>From the start.\n.dot\nbody\n\n"
	if rest := fromLine.ReplaceAllString(got, ""); rest != want {
		t.Errorf("mailbox:\n%s\nwant:\n%s", rest, want)
	}
	if uid, _ := fileOwner(t, mbox); root && uid != bob.UID {
		t.Errorf("mailbox owned by %d, want %d", uid, bob.UID)
	}
	// A second message is appended.
	h.send("bob@mx.example.test")
	if n := strings.Count(readFile(t, mbox), "\nFrom alice@example.test  "); n != 1 {
		t.Errorf("second message: %d From_ lines after the first", n)
	}
}

func TestMboxInRootSpool(t *testing.T) {
	if !root {
		t.Skip("needs root: the spool is one users cannot write")
	}
	h := newHarness(t)
	h.cfg.MailSpoolDirectory = h.mkdir("rootspool", 0o755)
	bob := h.addUser("bob", 40001)
	h.start()
	_, reply := h.send("bob@mx.example.test")
	wantResult(t, reply.Results[0], "2.0.0", proto.ActionDelivered, "delivered to mailbox")
	mbox := filepath.Join(h.cfg.MailSpoolDirectory, "bob")
	if uid, gid := fileOwner(t, mbox); uid != bob.UID || gid != bob.GID {
		t.Errorf("mailbox owned by %d:%d, want %d:%d", uid, gid, bob.UID, bob.GID)
	}
	if _, err := os.Stat(mbox + ".lock"); !os.IsNotExist(err) {
		t.Errorf("dot-lock left: %v", err)
	}
}

func TestMaildirInHome(t *testing.T) {
	h := newHarness(t)
	h.cfg.HomeMailbox = "Maildir/"
	bob := h.addUser("bob", 40001)
	h.start()
	id, reply := h.send("bob@mx.example.test")
	wantResult(t, reply.Results[0], "2.0.0", proto.ActionDelivered, "delivered to maildir")
	h.wantLog("bob@mx.example.test", id+": to=<bob@mx.example.test>, relay=local", "status=sent (delivered to maildir)")
	files, _ := filepath.Glob(filepath.Join(bob.Home, "Maildir", "new", "*.vm"))
	if len(files) != 1 {
		t.Fatalf("Maildir new/ holds %v", files)
	}
	want := "Return-Path: <alice@example.test>\nX-Original-To: bob@mx.example.test\nDelivered-To: bob@mx.example.test\n" + sampleMessage
	if got := readFile(t, files[0]); got != want {
		t.Errorf("Maildir file:\n%s\nwant:\n%s", got, want)
	}
	if uid, _ := fileOwner(t, files[0]); root && uid != bob.UID {
		t.Errorf("file owned by %d", uid)
	}
	fi, _ := os.Stat(filepath.Join(bob.Home, "Maildir"))
	if fi.Mode().Perm() != 0o700 {
		t.Errorf("Maildir mode %v", fi.Mode().Perm())
	}
}

func TestUnknownUser(t *testing.T) {
	h := newHarness(t)
	h.start()
	id, reply := h.send("Nosuch@mx.example.test")
	wantResult(t, reply.Results[0], "5.1.1", proto.ActionFailed, `unknown user: "nosuch"`)
	h.wantLog("Nosuch@mx.example.test", id+": to=<Nosuch@mx.example.test>, relay=local", `dsn=5.1.1, status=bounced (unknown user: "nosuch")`)
}

func TestSoftBounce(t *testing.T) {
	h := newHarness(t)
	h.cfg.SoftBounce = true
	h.start()
	_, reply := h.send("nosuch@mx.example.test")
	wantResult(t, reply.Results[0], "4.1.1", proto.ActionDelayed, `unknown user: "nosuch"`)
	h.wantLog("nosuch@mx.example.test", `dsn=4.1.1, status=deferred (unknown user: "nosuch")`)
}

func TestForwardingLoop(t *testing.T) {
	h := newHarness(t)
	h.addUser("bob", 40001)
	h.start()
	id := h.queueMessage(testMessage{sender: "alice@example.test", rcpts: []string{"bob@mx.example.test"},
		content: "Delivered-To: Bob@MX.example.test\nSubject: x\n\nbody\n"})
	reply := h.deliver(id, 0)
	wantResult(t, reply.Results[0], "5.4.6", proto.ActionFailed, "mail forwarding loop for bob@mx.example.test")
	h.wantLog("bob@mx.example.test", "dsn=5.4.6, status=bounced (mail forwarding loop for bob@mx.example.test)")
	if _, err := os.Stat(filepath.Join(h.cfg.MailSpoolDirectory, "bob")); !os.IsNotExist(err) {
		t.Errorf("looping message delivered: %v", err)
	}
}

func TestExtension(t *testing.T) {
	h := newHarness(t)
	h.cfg.RecipientDelimiter = "+"
	h.addUser("bob", 40001)
	h.start()
	_, reply := h.send("bob+Tag@mx.example.test")
	wantResult(t, reply.Results[0], "2.0.0", proto.ActionDelivered, "delivered to mailbox")
	if got := readFile(t, filepath.Join(h.cfg.MailSpoolDirectory, "bob")); !strings.Contains(got, "\nDelivered-To: bob+tag@mx.example.test\n") {
		t.Errorf("mailbox:\n%s", got)
	}
}

func TestAliasList(t *testing.T) {
	h := newHarness(t)
	h.addUser("bob", 40001)
	h.addUser("carol", 40002)
	h.aliases("list: bob, Carol, remote@elsewhere.test\npostmaster: bob\n", 0)
	h.start()
	id, reply := h.send("list@mx.example.test")
	wantResult(t, reply.Results[0], "2.0.0", proto.ActionExpanded, "")
	h.wantLog("bob@mx.example.test", id+": to=<bob@mx.example.test>, orig_to=<list@mx.example.test>, relay=local", "status=sent (delivered to mailbox)")
	h.wantLog("Carol@mx.example.test", "orig_to=<list@mx.example.test>", "status=sent (delivered to mailbox)")
	h.wantLog("remote@elsewhere.test", "orig_to=<list@mx.example.test>", "status=sent (forwarded as FWD1)")
	for _, u := range []string{"bob", "carol"} {
		got := readFile(t, filepath.Join(h.cfg.MailSpoolDirectory, u))
		if !strings.Contains(got, "X-Original-To: list@mx.example.test\nDelivered-To: list@mx.example.test\n") {
			t.Errorf("%s's mailbox:\n%s", u, got)
		}
	}
	fwd := h.cleanup.Messages()
	if len(fwd) != 1 {
		t.Fatalf("forwarded %d messages", len(fwd))
	}
	o := fwd[0].Open
	if o.Sender != "alice@example.test" || len(o.Recipients) != 1 || o.Recipients[0].Addr != "remote@elsewhere.test" ||
		o.Recipients[0].Orig != "list@mx.example.test" || o.Source != "local" {
		t.Errorf("forwarded envelope %+v", o)
	}
	// As Postfix's: a Received: header naming the original's queue ID,
	// then Delivered-To:.
	received := regexp.MustCompile(`^Received: by mx\.example\.test \(Postern\)\n\tid ` + id +
		`; [A-Z][a-z]{2}, [ \d]\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d [-+]\d{4} \(\S+\)\n`)
	rest, found := strings.CutPrefix(fwd[0].Content, received.FindString(fwd[0].Content))
	if !found || !received.MatchString(fwd[0].Content) || rest != "Delivered-To: list@mx.example.test\n"+sampleMessage {
		t.Errorf("forwarded content:\n%s", fwd[0].Content)
	}
}

func TestAliasToItself(t *testing.T) {
	h := newHarness(t)
	h.addUser("bob", 40001)
	h.aliases("bob: bob, remote@elsewhere.test\n", 0)
	h.start()
	_, reply := h.send("bob@mx.example.test")
	wantResult(t, reply.Results[0], "2.0.0", proto.ActionExpanded, "")
	h.wantLog("bob@mx.example.test", "status=sent (delivered to mailbox)")
	h.wantLog("remote@elsewhere.test", "status=sent (forwarded as FWD1)")
}

func TestAliasLoopAndDuplicates(t *testing.T) {
	h := newHarness(t)
	h.addUser("bob", 40001)
	h.aliases("a: b, c, bob\nb: a, c, bob\nc: a, b, bob\n", 0)
	h.start()
	_, reply := h.send("a@mx.example.test")
	// As in Postfix, a loop of aliases ends at the nesting limit and
	// bounces; every address is delivered once on the way.
	wantResult(t, reply.Results[0], "5.4.6", proto.ActionFailed, "recipient nesting limit exceeded")
	if n := strings.Count(readFile(t, filepath.Join(h.cfg.MailSpoolDirectory, "bob")), "\nReturn-Path: "); n != 1 {
		t.Errorf("bob got %d copies, want 1", n)
	}
}

func TestOwnerAlias(t *testing.T) {
	h := newHarness(t)
	h.addUser("bob", 40001)
	h.aliases("list: bob, remote@elsewhere.test\nowner-list: bob\n", 0)
	h.start()
	_, reply := h.send("list@mx.example.test")
	wantResult(t, reply.Results[0], "2.0.0", proto.ActionExpanded, "")
	fwd := h.cleanup.Messages()
	if len(fwd) != 1 {
		t.Fatalf("forwarded %d messages", len(fwd))
	}
	o := fwd[0].Open
	if o.Sender != "owner-list@mx.example.test" || len(o.Recipients) != 2 {
		t.Fatalf("forwarded envelope %+v", o)
	}
	for _, r := range o.Recipients {
		if r.Orig != "" {
			t.Errorf("list copy keeps the original recipient %q", r.Orig)
		}
	}
}

func TestAliasCommandAndFileRights(t *testing.T) {
	h := newHarness(t)
	out := h.mkdir("out", 0o1777)
	owner := h.addUser("listowner", 40003)
	h.aliases(`cmd: "|env > `+out+`/env; id -u > `+out+`/uid; cat > `+out+`/stdin"
arch: `+out+`/archive
`, owner.UID)
	h.start()
	id := h.queueMessage(testMessage{sender: "alice@example.test", rcpts: []string{"cmd@mx.example.test"}, content: sampleMessage,
		attrs: []queue.Attr{{Name: proto.AttrClientAddr, Value: "192.0.2.1"}, {Name: proto.AttrHeloName, Value: "client;evil"}}})
	reply := h.deliver(id, 0)
	cmd := `env > ` + out + `/env; id -u > ` + out + `/uid; cat > ` + out + `/stdin`
	wantResult(t, reply.Results[0], "2.0.0", proto.ActionExpanded, "delivered to command: "+cmd)
	h.wantLog("cmd@mx.example.test", "status=sent (delivered to command: "+cmd+")")
	if root {
		if got := strings.TrimSpace(readFile(t, filepath.Join(out, "uid"))); got != "40003" {
			t.Errorf("command ran as %s, want the alias file owner 40003", got)
		}
	}
	env := readFile(t, filepath.Join(out, "env"))
	for _, want := range []string{"SENDER=alice@example.test", "RECIPIENT=cmd@mx.example.test", "USER=cmd", "LOGNAME=cmd",
		"LOCAL=cmd", "DOMAIN=mx.example.test", "ORIGINAL_RECIPIENT=cmd@mx.example.test", "PATH=/usr/bin:/bin",
		"CLIENT_ADDRESS=192.0.2.1", "CLIENT_HELO=client_evil", "HOME=" + owner.Home, "SHELL=/bin/sh"} {
		if !strings.Contains(env, want+"\n") {
			t.Errorf("environment lacks %s:\n%s", want, env)
		}
	}
	stdin := readFile(t, filepath.Join(out, "stdin"))
	if !strings.HasPrefix(stdin, "From alice@example.test  ") || !strings.Contains(stdin, "\nReturn-Path: <alice@example.test>\nX-Original-To: cmd@mx.example.test\nDelivered-To: cmd@mx.example.test\n") ||
		!strings.HasSuffix(stdin, "\nFrom the start.\n.dot\nbody\n") {
		t.Errorf("command input:\n%s", stdin)
	}

	_, reply = h.send("arch@mx.example.test")
	wantResult(t, reply.Results[0], "2.0.0", proto.ActionExpanded, "delivered to file: "+out+"/archive")
	if uid, _ := fileOwner(t, filepath.Join(out, "archive")); root && uid != owner.UID {
		t.Errorf("file written by %d", uid)
	}
}

func TestRootAliasUsesDefaultPrivs(t *testing.T) {
	if !root {
		t.Skip("needs root")
	}
	h := newHarness(t)
	out := h.mkdir("out", 0o1777)
	h.aliases(`cmd: "|id -u > `+out+`/uid"`+"\n", 0)
	h.start()
	_, reply := h.send("cmd@mx.example.test")
	wantResult(t, reply.Results[0], "2.0.0", proto.ActionExpanded, "")
	if got := strings.TrimSpace(readFile(t, filepath.Join(out, "uid"))); got != "65534" {
		t.Errorf("command ran as %s, want default_privs (65534)", got)
	}
}

func TestCommandExitStatus(t *testing.T) {
	h := newHarness(t)
	h.cfg.CommandTimeLimit = 300 * 1e6
	h.aliases("tmp: |\"exit 75\"\nnouser: \"|exit 67\"\ndsn: \"|echo 5.2.2 mailbox full; exit 1\"\nslow: |\"sleep 10\"\nok: |true\n", 0)
	h.start()
	_, reply := h.send("tmp@mx.example.test", "nouser@mx.example.test", "dsn@mx.example.test", "slow@mx.example.test", "ok@mx.example.test")
	wantResult(t, reply.Results[0], "4.3.0", proto.ActionDelayed, "temporary failure")
	wantResult(t, reply.Results[1], "5.1.1", proto.ActionFailed, "user unknown")
	wantResult(t, reply.Results[2], "5.2.2", proto.ActionFailed, "mailbox full")
	wantResult(t, reply.Results[3], "5.3.0", proto.ActionFailed, `Command time limit exceeded: "sleep 10"`)
	wantResult(t, reply.Results[4], "2.0.0", proto.ActionExpanded, "delivered to command: true")
	h.wantLog("tmp@mx.example.test", "dsn=4.3.0, status=deferred (temporary failure)")
}

func TestDotForward(t *testing.T) {
	h := newHarness(t)
	bob := h.addUser("bob", 40001)
	out := h.mkdir("out", 0o1777)
	h.writeFileAs(filepath.Join(bob.Home, ".forward"), "# forward\n\\bob, remote@elsewhere.test\n\"|id -u > "+out+"/uid\"\n", bob.UID, bob.GID, 0o644)
	h.start()
	_, reply := h.send("bob@mx.example.test")
	wantResult(t, reply.Results[0], "2.0.0", proto.ActionExpanded, "")
	h.wantLog("bob@mx.example.test", "status=sent (delivered to mailbox)")
	h.wantLog("remote@elsewhere.test", "status=sent (forwarded as FWD1)")
	if root {
		if got := strings.TrimSpace(readFile(t, filepath.Join(out, "uid"))); got != "40001" {
			t.Errorf(".forward command ran as %s, want bob (40001)", got)
		}
	}
	fwd := h.cleanup.Messages()
	if len(fwd) != 1 || !strings.HasPrefix(fwd[0].Content, "Received: by mx.example.test (Postern)\n") ||
		!strings.Contains(fwd[0].Content, ")\nDelivered-To: bob@mx.example.test\n") {
		t.Errorf("forwarded: %+v", fwd)
	}
}

func TestDotForwardNamingSelfAndEmpty(t *testing.T) {
	h := newHarness(t)
	bob := h.addUser("bob", 40001)
	carol := h.addUser("carol", 40002)
	h.writeFileAs(filepath.Join(bob.Home, ".forward"), "bob\n", bob.UID, bob.GID, 0o644)
	h.writeFileAs(filepath.Join(carol.Home, ".forward"), "", carol.UID, carol.GID, 0o644)
	h.start()
	_, reply := h.send("bob@mx.example.test", "carol@mx.example.test")
	wantResult(t, reply.Results[0], "2.0.0", proto.ActionExpanded, "delivered to mailbox")
	wantResult(t, reply.Results[1], "2.0.0", proto.ActionDelivered, "delivered to mailbox")
	if len(h.cleanup.Messages()) != 0 {
		t.Errorf("something was forwarded")
	}
}

func TestDotForwardUnsafe(t *testing.T) {
	h := newHarness(t)
	bob := h.addUser("bob", 40001)
	h.writeFileAs(filepath.Join(bob.Home, ".forward"), "remote@elsewhere.test\n", bob.UID, bob.GID, 0o666)
	h.start()
	_, reply := h.send("bob@mx.example.test")
	wantResult(t, reply.Results[0], "2.0.0", proto.ActionDelivered, "delivered to mailbox")
	if !strings.Contains(h.log.String(), "warning: file "+bob.Home+"/.forward is world writable") {
		t.Errorf("no warning:\n%s", h.log.String())
	}
}

func TestIncludeRestrictions(t *testing.T) {
	h := newHarness(t)
	h.addUser("bob", 40001)
	inc := filepath.Join(h.dir, "members")
	h.writeFileAs(inc, "bob\n|/bin/true\n", 0, 0, 0o644)
	h.aliases("team: :include:"+inc+"\n", 0)
	h.start()
	_, reply := h.send("team@mx.example.test")
	// bob is forwarded (addresses from :include: files always are) and
	// the command is refused.
	wantResult(t, reply.Results[0], "5.7.1", proto.ActionFailed, "mail to command is restricted")
	h.wantLog("bob@mx.example.test", "status=sent (forwarded as FWD1)")
}

func TestLuserRelay(t *testing.T) {
	h := newHarness(t)
	h.cfg.LuserRelay = "catchall+$user"
	h.cfg.RecipientDelimiter = "+"
	h.addUser("catchall", 40001)
	h.start()
	_, reply := h.send("whoever@mx.example.test")
	wantResult(t, reply.Results[0], "2.0.0", proto.ActionDelivered, "delivered to mailbox")
	h.wantLog("catchall+whoever@mx.example.test", "orig_to=<whoever@mx.example.test>", "status=sent (delivered to mailbox)")
}

func TestVerify(t *testing.T) {
	h := newHarness(t)
	h.addUser("bob", 40001)
	h.aliases("list: bob, remote@elsewhere.test\n", 0)
	h.start()
	id := h.queueMessage(testMessage{sender: "alice@example.test", rcpts: []string{"bob@mx.example.test", "list@mx.example.test", "x@mx.example.test"}, content: sampleMessage})
	reply := h.deliver(id, proto.DeliverVerify)
	wantResult(t, reply.Results[0], "2.0.0", proto.ActionDelivered, "delivers to mailbox")
	wantResult(t, reply.Results[1], "2.0.0", "", "aliased to bob, remote@elsewhere.test")
	wantResult(t, reply.Results[2], "5.1.1", proto.ActionFailed, `unknown user: "x"`)
	h.wantLog("bob@mx.example.test", "status=deliverable (delivers to mailbox)")
	h.wantLog("x@mx.example.test", `status=undeliverable (unknown user: "x")`)
	if _, err := os.Stat(filepath.Join(h.cfg.MailSpoolDirectory, "bob")); !os.IsNotExist(err) {
		t.Errorf("verify delivered: %v", err)
	}
}

func TestShellArgv(t *testing.T) {
	for _, tc := range []struct {
		cmd, shell string
		want       []string
	}{
		{"/usr/bin/procmail -a x", "", []string{"/usr/bin/procmail", "-a", "x"}},
		{"cat", "", []string{"cat"}},
		{`/usr/bin/procmail -a "$EXTENSION"`, "", []string{"/bin/sh", "-c", `/usr/bin/procmail -a "$EXTENSION"`}},
		{"exit 75", "", []string{"/bin/sh", "-c", "exit 75"}},
		{"cat > x", "", []string{"/bin/sh", "-c", "cat > x"}},
		{"cat", "/usr/sbin/smrsh -c", []string{"/usr/sbin/smrsh", "-c", "cat"}},
	} {
		if got := shellArgv(tc.cmd, tc.shell); strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("shellArgv(%q, %q) = %q, want %q", tc.cmd, tc.shell, got, tc.want)
		}
	}
}

func TestDropSuccess(t *testing.T) {
	for in, want := range map[string]string{"": "", "NEVER": "NEVER", "SUCCESS": "NEVER", "SUCCESS,FAILURE": "FAILURE", "DELAY,FAILURE": "DELAY,FAILURE"} {
		if got := dropSuccess(in); got != want {
			t.Errorf("dropSuccess(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestForwardFailureDefers(t *testing.T) {
	h := newHarness(t)
	h.aliases("away: remote@elsewhere.test\n", 0)
	h.start()
	os.Remove(proto.CleanupPath(h.cfg.QueueDir)) // cleanup is down
	_, reply := h.send("away@mx.example.test")
	wantResult(t, reply.Results[0], "4.3.0", proto.ActionDelayed, "mail forwarding transaction failed")
	h.wantLog("remote@elsewhere.test", "orig_to=<away@mx.example.test>", "dsn=4.3.0, status=deferred (mail forwarding transaction failed)")
}
