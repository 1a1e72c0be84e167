// Package e2e holds the end-to-end scenarios of the delivery agents that
// write for users: local (aliases, .forward, mbox with locking, commands,
// files), virtual (Maildir) and pipe. Each starts a real Postern instance
// (internal/mtatest) and sends mail to it over SMTP, so it needs the
// whole path: smtpd, cleanup, qmgr and the agent. Run them with
// "go test ./local/e2e/" or "make test".
//
// As root the tests create an account for mailbox and .forward delivery
// (posterntest, with its home in the instance directory) and check that
// files belong to, and commands run as, the right users.
package e2e

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/postern-mta/postern/internal/mtatest"
)

var root = os.Geteuid() == 0

// newInstance is an instance with a mail spool every user may write and
// no system alias database.
func newInstance(t *testing.T) *mtatest.Instance {
	t.Helper()
	in := mtatest.New(t)
	in.Set("alias_maps", "")
	in.Set("alias_database", "")
	in.Set("biff", "no")
	spool := filepath.Join(in.MailDir, "spool")
	os.MkdirAll(spool, 0o755)
	os.Chmod(spool, 0o1777)
	os.Chmod(in.MailDir, 0o755)
	return in
}

// testUser is the account mail is delivered to: posterntest with its home
// in the instance directory when running as root, the caller otherwise.
type testUser struct {
	Name     string
	UID, GID int
	Home     string
}

func makeUser(t *testing.T, in *mtatest.Instance) testUser {
	t.Helper()
	if !root {
		u, err := user.Current()
		if err != nil {
			t.Fatal(err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		return testUser{Name: u.Username, UID: uid, GID: gid, Home: u.HomeDir}
	}
	const name = "posterntest"
	home := filepath.Join(in.Dir, "home", name)
	os.MkdirAll(filepath.Dir(home), 0o755)
	var out []byte
	var err error
	if _, lerr := user.Lookup(name); lerr != nil {
		out, err = exec.Command("useradd", "--no-create-home", "--home-dir", home, "--shell", "/bin/sh", name).CombinedOutput()
	} else {
		out, err = exec.Command("usermod", "--home", home, name).CombinedOutput()
	}
	if err != nil {
		t.Fatalf("make user %s: %v: %s", name, err, out)
	}
	u, err := user.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	os.Mkdir(home, 0o755)
	os.Chown(home, uid, gid)
	return testUser{Name: name, UID: uid, GID: gid, Home: home}
}

// outDir is a directory commands and files of any user may write.
func outDir(t *testing.T, in *mtatest.Instance) string {
	t.Helper()
	d := filepath.Join(in.Dir, "out")
	os.MkdirAll(d, 0o755)
	os.Chmod(d, 0o1777)
	return d
}

// send submits one message over SMTP.
func send(t *testing.T, in *mtatest.Instance, from string, to []string, msg string) {
	t.Helper()
	c, err := smtp.Dial(in.SMTPAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("client.example.test"); err != nil {
		t.Fatal(err)
	}
	if err := c.SendMail(from, to, strings.NewReader(msg)); err != nil {
		t.Fatalf("send to %v: %v", to, err)
	}
	c.Quit()
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func owner(t *testing.T, path string) int {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return int(fi.Sys().(*syscall.Stat_t).Uid)
}

// waitFile waits until path exists and holds something.
func waitFile(t *testing.T, path string) string {
	t.Helper()
	var s string
	mtatest.WaitFor(t, 30*time.Second, path, func() bool {
		b, err := os.ReadFile(path)
		s = string(b)
		return err == nil && len(b) > 0
	})
	return s
}

// crlf makes a message as it goes over SMTP.
func crlf(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

// tricky is a message whose body must arrive byte for byte: lines SMTP
// dot-stuffs, 8-bit bytes, a line of 10,000 bytes.
var tricky = "From: alice@client.example.test\nTo: bob@virt.test\nSubject: tricky\nDate: Sun, 22 Nov 2026 11:07:19 +0000\nMessage-ID: <tricky@client.example.test>\n\n" +
	".\n..\n.leading dot\nFrom the start\ncaf\xc3\xa9 \xe2\x82\xac \xff\xfe raw bytes\n" + strings.Repeat("0123456789", 1000) + "\nlast line\n"

func TestVirtualMaildirByteExact(t *testing.T) {
	in := newInstance(t)
	base := filepath.Join(in.Dir, "vmail")
	os.MkdirAll(filepath.Join(base, "virt.test"), 0o755)
	uid, gid := os.Getuid(), os.Getgid()
	if root {
		uid, gid = 40001, 40002
		os.Chown(filepath.Join(base, "virt.test"), uid, gid)
	}
	in.Set("virtual_mailbox_domains", "virt.test")
	in.Set("virtual_mailbox_base", base)
	in.Set("virtual_mailbox_maps", "inline:{bob@virt.test=virt.test/bob/}")
	in.Set("virtual_uid_maps", "static:"+strconv.Itoa(uid))
	in.Set("virtual_gid_maps", "static:"+strconv.Itoa(gid))
	in.Set("virtual_minimum_uid", "0")
	in.Start()
	send(t, in, "alice@client.example.test", []string{"bob@virt.test"}, crlf(tricky))
	line := in.WaitLog(`to=<bob@virt.test>, relay=virtual, .*status=\w+ \(.*\)`, 30*time.Second)
	if !strings.Contains(line, "dsn=2.0.0, status=sent (delivered to maildir)") {
		t.Fatalf("log: %s", line)
	}
	files, _ := filepath.Glob(filepath.Join(base, "virt.test", "bob", "new", "*"))
	if len(files) != 1 {
		t.Fatalf("new/ holds %v", files)
	}
	got := readFile(t, files[0])
	if !strings.HasPrefix(got, "Return-Path: <alice@client.example.test>\nX-Original-To: bob@virt.test\nDelivered-To: bob@virt.test\n") {
		t.Errorf("delivery headers:\n%s", got[:min(len(got), 300)])
	}
	if !strings.HasSuffix(got, "\n"+tricky) {
		t.Errorf("the message did not arrive byte for byte; file:\n%q", got[:min(len(got), 2000)])
	}
	if root && owner(t, files[0]) != 40001 {
		t.Errorf("Maildir file owned by %d, want the mapped uid 40001", owner(t, files[0]))
	}
}

// aliases writes an aliases file and builds it with postalias.
func aliases(t *testing.T, in *mtatest.Instance, text string) {
	t.Helper()
	path := in.WriteFile("etc/aliases", text)
	if res := in.Run("postalias", path); res.Exit != 0 {
		t.Fatalf("postalias: exit %d: %s", res.Exit, res.Stderr)
	}
	in.Set("alias_maps", "hash:"+path)
	in.Set("alias_database", "hash:"+path)
}

func TestLocalAliases(t *testing.T) {
	in := newInstance(t)
	sink := mtatest.NewSink(t)
	u := makeUser(t, in)
	out := outDir(t, in)
	in.Set("relayhost", "[127.0.0.1]:"+portOf(sink.Addr))
	aliases(t, in, fmt.Sprintf(`list: %s, remote@remote.test
cmd: "|id -u > %s/cmd-uid; cat > %s/cmd-msg"
archive: %s/archive
`, u.Name, out, out, out))
	in.Start()
	send(t, in, "alice@client.example.test", []string{"list@mx.example.test", "cmd@mx.example.test", "archive@mx.example.test"},
		crlf("From: alice@client.example.test\nSubject: aliases\n\nhello list\n"))
	in.WaitLog(`to=<`+u.Name+`@mx.example.test>, orig_to=<list@mx.example.test>, relay=local, .*status=sent \(delivered to mailbox\)`, 30*time.Second)
	in.WaitLog(`to=<remote@remote.test>, orig_to=<list@mx.example.test>, relay=local, .*status=sent \(forwarded as \w+\)`, 30*time.Second)
	in.WaitLog(`to=<cmd@mx.example.test>, relay=local, .*status=sent \(delivered to command: id -u > `, 30*time.Second)
	in.WaitLog(`to=<archive@mx.example.test>, relay=local, .*status=sent \(delivered to file: `+out+`/archive\)`, 30*time.Second)

	mbox := readFile(t, filepath.Join(in.MailDir, "spool", u.Name))
	if !strings.HasPrefix(mbox, "From alice@client.example.test  ") || !strings.Contains(mbox, "\nDelivered-To: list@mx.example.test\n") ||
		!strings.HasSuffix(mbox, "\nhello list\n\n") {
		t.Errorf("mailbox:\n%s", mbox)
	}
	if root && owner(t, filepath.Join(in.MailDir, "spool", u.Name)) != u.UID {
		t.Errorf("mailbox not owned by %s", u.Name)
	}
	if root {
		// A root-owned alias database runs commands as default_privs.
		if got := strings.TrimSpace(waitFile(t, filepath.Join(out, "cmd-uid"))); got != "65534" {
			t.Errorf("alias command ran as uid %s, want nobody (65534)", got)
		}
	}
	if msg := waitFile(t, filepath.Join(out, "cmd-msg")); !strings.Contains(msg, "\nDelivered-To: cmd@mx.example.test\n") || !strings.HasSuffix(msg, "\nhello list\n") {
		t.Errorf("command input:\n%s", msg)
	}
	if a := waitFile(t, filepath.Join(out, "archive")); !strings.HasPrefix(a, "From alice@client.example.test  ") {
		t.Errorf("archive:\n%s", a)
	}
	mtatest.WaitFor(t, 30*time.Second, "the forwarded copy at the remote sink", func() bool { return sink.Count() == 1 })
	m := sink.Messages()[0]
	if m.From != "alice@client.example.test" || len(m.To) != 1 || m.To[0] != "remote@remote.test" ||
		!strings.Contains(string(m.Data), "Delivered-To: list@mx.example.test\r\n") {
		t.Errorf("forwarded copy from <%s> to %v:\n%s", m.From, m.To, m.Data)
	}
}

func portOf(addr string) string {
	_, p, _ := net.SplitHostPort(addr)
	return p
}

func TestDotForwardAndUnknownUser(t *testing.T) {
	if !root {
		t.Skip("needs root: the .forward belongs to a test account")
	}
	in := newInstance(t)
	in.Set("local_recipient_maps", "") // let unknown users through to local
	u := makeUser(t, in)
	out := outDir(t, in)
	fwd := filepath.Join(u.Home, ".forward")
	os.WriteFile(fwd, []byte(fmt.Sprintf("\\%s, \"|id -u > %s/fwd-uid\"\n", u.Name, out)), 0o644)
	os.Chown(fwd, u.UID, u.GID)
	in.Start()
	send(t, in, "alice@client.example.test", []string{u.Name + "@mx.example.test"}, crlf("Subject: forward\n\nvia .forward\n"))
	in.WaitLog(`to=<`+u.Name+`@mx.example.test>, relay=local, .*status=sent \(delivered to mailbox\)`, 30*time.Second)
	in.WaitLog(`to=<`+u.Name+`@mx.example.test>, relay=local, .*status=sent \(delivered to command: id -u`, 30*time.Second)
	if got := strings.TrimSpace(waitFile(t, filepath.Join(out, "fwd-uid"))); got != strconv.Itoa(u.UID) {
		t.Errorf(".forward command ran as uid %s, want %d", got, u.UID)
	}
	send(t, in, "alice@client.example.test", []string{"nosuchuser@mx.example.test"}, crlf("Subject: x\n\nx\n"))
	in.WaitLog(`to=<nosuchuser@mx.example.test>, relay=local, .*dsn=5\.1\.1, status=bounced \(unknown user: "nosuchuser"\)`, 30*time.Second)
}

func TestMboxLocking(t *testing.T) {
	in := newInstance(t)
	u := makeUser(t, in)
	in.Set("deliver_lock_delay", "1s")
	in.Start()
	mbox := filepath.Join(in.MailDir, "spool", u.Name)
	// Hold a lock on the mailbox: the first delivery must wait for it.
	f, err := os.OpenFile(mbox, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if root {
		f.Chown(u.UID, u.GID)
	}
	lk := syscall.Flock_t{Type: syscall.F_WRLCK}
	if err := syscall.FcntlFlock(f.Fd(), syscall.F_SETLK, &lk); err != nil {
		t.Fatal(err)
	}
	send(t, in, "alice@client.example.test", []string{u.Name + "@mx.example.test"}, crlf("Subject: locked\n\nmarker locked\n"))
	time.Sleep(1500 * time.Millisecond) // the delivery is retrying its lock now
	if b, _ := os.ReadFile(mbox); len(b) != 0 {
		t.Fatalf("mailbox written while locked:\n%s", b)
	}
	lk.Type = syscall.F_UNLCK
	syscall.FcntlFlock(f.Fd(), syscall.F_SETLK, &lk)
	f.Close()
	in.WaitLog(`to=<`+u.Name+`@mx.example.test>, relay=local, .*status=sent \(delivered to mailbox\)`, 30*time.Second)

	// Messages delivered at once each arrive whole.
	const n = 10
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			send(t, in, "alice@client.example.test", []string{u.Name + "@mx.example.test"},
				crlf(fmt.Sprintf("Subject: m%d\n\n%s\nmarker m%d\n", i, strings.Repeat("body line\n", 500), i)))
		}()
	}
	wg.Wait()
	mtatest.WaitFor(t, 60*time.Second, "every message in the mailbox", func() bool {
		return strings.Count(in.Log(), "to=<"+u.Name+"@mx.example.test>, relay=local") == n+1
	})
	got := readFile(t, mbox)
	msgs := strings.Split(got, "\n\nFrom alice@client.example.test  ")
	if len(msgs) != n+1 {
		t.Fatalf("mailbox holds %d messages, want %d", len(msgs), n+1)
	}
	for _, m := range msgs[1:] {
		if strings.Count(m, "body line\n") != 500 || !strings.Contains(m, "\nmarker m") {
			t.Errorf("a message was cut or mixed:\n%.300s", m)
		}
	}
}

func TestPipe(t *testing.T) {
	in := newInstance(t)
	out := outDir(t, in)
	script := in.WriteFile("pipe.sh", `#!/bin/sh
id -u > "`+out+`/pipe-uid"
printf '%s\n' "$@" > "`+out+`/pipe-args"
cat > "`+out+`/pipe-stdin"
`)
	os.Chmod(script, 0o755)
	in.SetMasterCF(mtatest.DefaultMasterCF(in.SMTPAddr) + "mypipe unix - n n - - pipe flags=FRDOX user=nobody argv=" + script +
		" ${sender} ${recipient} ${user} ${extension} ${nexthop} ${queue_id}\n")
	in.Set("transport_maps", "inline:{piped.test=mypipe:}")
	in.Set("mypipe_destination_recipient_limit", "1")
	in.Set("recipient_delimiter", "+")
	in.Start()
	send(t, in, "alice@client.example.test", []string{"x+tag@piped.test"}, crlf("Subject: piped\n\nFrom the pipe\n"))
	line := in.WaitLog(`\w+: to=<x\+tag@piped.test>, relay=mypipe, .*`, 30*time.Second)
	if !strings.Contains(line, "dsn=2.0.0, status=sent (delivered via mypipe service)") {
		t.Fatalf("log: %s", line)
	}
	id, _, _ := strings.Cut(line, ":")
	if got, want := readFile(t, filepath.Join(out, "pipe-args")), "alice@client.example.test\nx+tag@piped.test\nx\ntag\npiped.test\n"+id+"\n"; got != want {
		t.Errorf("arguments %q, want %q", got, want)
	}
	stdin := readFile(t, filepath.Join(out, "pipe-stdin"))
	if !strings.HasPrefix(stdin, "From alice@client.example.test  ") || !strings.Contains(stdin, "\nReturn-Path: <alice@client.example.test>\nX-Original-To: x+tag@piped.test\nDelivered-To: x+tag@piped.test\n") ||
		!strings.HasSuffix(stdin, "\n\nFrom the pipe\n") {
		t.Errorf("pipe input:\n%s", stdin)
	}
	if root {
		if got := strings.TrimSpace(readFile(t, filepath.Join(out, "pipe-uid"))); got != "65534" {
			t.Errorf("pipe command ran as %s, want nobody (65534)", got)
		}
	}
}
