package mailbox

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/privexec"
	"github.com/postern-mta/postern/internal/privexec/privexectest"
)

func TestMain(m *testing.M) { privexectest.Main(m) }

func mbox(t *testing.T, r *privexec.Runner, cred *privexec.Cred, p MboxParams, msg string) *Outcome {
	t.Helper()
	out, err := DeliverMbox(context.Background(), r, cred, p, strings.NewReader(msg), 10*time.Second)
	if err != nil {
		t.Fatalf("DeliverMbox: %v", err)
	}
	for _, w := range out.Warnings {
		t.Logf("warning: %s", w)
	}
	return out
}

func fastLocks() Locking {
	return Locking{Fcntl: true, Dotlock: true, Attempts: 2, Delay: 10 * time.Millisecond, StaleTime: time.Hour}
}

func TestMboxAppend(t *testing.T) {
	r := privexectest.Runner(t)
	path := filepath.Join(t.TempDir(), "bob")
	p := MboxParams{Path: path, Locking: fastLocks(), Create: true, StrictOwner: true}
	first := mbox(t, r, nil, p, "one\n\n")
	second := mbox(t, r, nil, p, "two\n\n")
	if first.Status != nil || second.Status != nil {
		t.Fatalf("statuses %v %v", first.Status, second.Status)
	}
	if first.Offset != 0 || second.Offset != 5 {
		t.Errorf("offsets %d %d, want 0 5", first.Offset, second.Offset)
	}
	b, _ := os.ReadFile(path)
	if string(b) != "one\n\ntwo\n\n" {
		t.Errorf("mailbox holds %q", b)
	}
	fi, _ := os.Stat(path)
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mailbox mode %v, want 0600", fi.Mode().Perm())
	}
	if _, err := os.Stat(path + ".lock"); !os.IsNotExist(err) {
		t.Errorf("dot-lock left behind: %v", err)
	}
}

func TestMboxSizeLimitTruncates(t *testing.T) {
	r := privexectest.Runner(t)
	path := filepath.Join(t.TempDir(), "bob")
	p := MboxParams{Path: path, Locking: fastLocks(), Create: true, SizeLimit: 100}
	if out := mbox(t, r, nil, p, strings.Repeat("a", 60)); out.Status != nil {
		t.Fatal(out.Status)
	}
	out := mbox(t, r, nil, p, strings.Repeat("b", 70000))
	if out.Status == nil || out.Status.Enhanced != "5.2.2" || !strings.Contains(out.Status.Text, "error writing message: File too large") {
		t.Errorf("over the limit: %v", out.Status)
	}
	if b, _ := os.ReadFile(path); string(b) != strings.Repeat("a", 60) {
		t.Errorf("mailbox not restored: %d bytes", len(b))
	}
}

func TestMboxBusyLock(t *testing.T) {
	r := privexectest.Runner(t)
	path := filepath.Join(t.TempDir(), "bob")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	lk := syscall.Flock_t{Type: syscall.F_WRLCK}
	if err := syscall.FcntlFlock(f.Fd(), syscall.F_SETLK, &lk); err != nil {
		t.Fatal(err)
	}
	out := mbox(t, r, nil, MboxParams{Path: path, Locking: Locking{Fcntl: true, Attempts: 2, Delay: 10 * time.Millisecond}}, "x\n")
	if out.Status == nil || out.Status.Enhanced != "4.2.0" || out.Status.Text != "unable to lock for exclusive access: Resource temporarily unavailable" {
		t.Errorf("busy lock: %v", out.Status)
	}
	// A dot-lock held by someone else is waited for; a stale one removed.
	os.WriteFile(path+".lock", nil, 0)
	out = mbox(t, r, nil, MboxParams{Path: path, Locking: Locking{Dotlock: true, Attempts: 2, Delay: 10 * time.Millisecond, StaleTime: time.Hour}}, "x\n")
	if out.Status == nil || !strings.Contains(out.Status.Text, "unable to create lock file "+path+".lock") || !out.Status.Temporary() {
		t.Errorf("busy dot-lock: %v", out.Status)
	}
	old := time.Now().Add(-2 * time.Hour)
	os.Chtimes(path+".lock", old, old)
	out = mbox(t, r, nil, MboxParams{Path: path, Locking: Locking{Dotlock: true, Attempts: 2, Delay: 10 * time.Millisecond, StaleTime: time.Hour}}, "x\n")
	if out.Status != nil {
		t.Errorf("stale dot-lock: %v", out.Status)
	}
}

func TestMboxRefusals(t *testing.T) {
	r := privexectest.Runner(t)
	dir := t.TempDir()
	target := filepath.Join(dir, "target")
	os.WriteFile(target, nil, 0o600)
	link := filepath.Join(dir, "link")
	os.Symlink(target, link)
	if out := mbox(t, r, nil, MboxParams{Path: link, Locking: fastLocks()}, "x\n"); out.Status == nil || !strings.Contains(out.Status.Text, "cannot open file") {
		t.Errorf("symbolic link mailbox: %v", out.Status)
	}
	hard := filepath.Join(dir, "hard")
	os.Link(target, hard)
	if out := mbox(t, r, nil, MboxParams{Path: hard, Locking: fastLocks()}, "x\n"); out.Status == nil || !strings.Contains(out.Status.Text, "has 2 hard links") {
		t.Errorf("hard-linked mailbox: %v", out.Status)
	}
	exe := filepath.Join(dir, "exe")
	os.WriteFile(exe, nil, 0o700)
	if out := mbox(t, r, nil, MboxParams{Path: exe, File: true, Locking: fastLocks()}, "x\n"); out.Status == nil || !strings.Contains(out.Status.Text, "is executable") {
		t.Errorf("executable file: %v", out.Status)
	}
	if out := mbox(t, r, nil, MboxParams{Path: dir, File: true, Locking: fastLocks()}, "x\n"); out.Status == nil {
		t.Errorf("directory accepted as a file")
	}
	if out := mbox(t, r, nil, MboxParams{Path: "/dev/null", File: true, Locking: fastLocks(), DotlockMayFail: true}, "x\n"); out.Status != nil {
		t.Errorf("/dev/null: %v", out.Status)
	}
	if out := mbox(t, r, nil, MboxParams{Path: filepath.Join(dir, "missing")}, "x\n"); out.Status == nil || !strings.Contains(out.Status.Text, "No such file or directory") {
		t.Errorf("missing mailbox without Create: %v", out.Status)
	}
}

func TestMboxAsUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to change credentials")
	}
	r := privexectest.Runner(t)
	dir := sharedDir(t, 0o777|os.ModeSticky)
	cred := &privexec.Cred{UID: 40001, GID: 40002}
	path := filepath.Join(dir, "bob")
	if out := mbox(t, r, cred, MboxParams{Path: path, Locking: fastLocks(), Create: true, StrictOwner: true}, "x\n"); out.Status != nil {
		t.Fatal(out.Status)
	}
	st := stat(t, path)
	if st.Uid != 40001 || st.Gid != 40002 {
		t.Errorf("mailbox owned by %d:%d, want 40001:40002", st.Uid, st.Gid)
	}
	// A mailbox of another owner defers.
	other := filepath.Join(dir, "other")
	os.WriteFile(other, nil, 0o666)
	os.Chmod(other, 0o666)
	out := mbox(t, r, cred, MboxParams{Path: other, Locking: fastLocks(), StrictOwner: true}, "x\n")
	if out.Status == nil || out.Status.Enhanced != "4.2.0" || out.Status.Text != "destination "+other+" is not owned by recipient" {
		t.Errorf("foreign mailbox: %v", out.Status)
	}
	// Root prepares a mailbox in a spool its users cannot write.
	spool := sharedDir(t, 0o755)
	spooled := filepath.Join(spool, "bob")
	if err := PrepareMbox(spooled, 40001, 40002); err != nil {
		t.Fatal(err)
	}
	l := fastLocks()
	unlock, err := l.DotlockFile(spooled)
	if err != nil {
		t.Fatal(err)
	}
	l.Dotlock = false
	out = mbox(t, r, cred, MboxParams{Path: spooled, Locking: l, StrictOwner: true}, "y\n")
	unlock()
	if out.Status != nil {
		t.Fatalf("spool delivery: %v", out.Status)
	}
	if b, _ := os.ReadFile(spooled); string(b) != "y\n" {
		t.Errorf("spool mailbox holds %q", b)
	}
}

// sharedDir is a temporary directory other users can reach.
func sharedDir(t *testing.T, mode os.FileMode) string {
	t.Helper()
	dir := t.TempDir()
	os.Chmod(filepath.Dir(dir), 0o755)
	os.Chmod(dir, mode)
	return dir
}

func stat(t *testing.T, path string) *syscall.Stat_t {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t)
}

var maildirFile = regexp.MustCompile(`^[0-9]+\.V[0-9a-f]+I[0-9a-f]+M[0-9]+\.vm\.test$`)

func TestMaildir(t *testing.T) {
	r := privexectest.Runner(t)
	dir := filepath.Join(t.TempDir(), "home", "Maildir") + "/"
	msg := "Subject: x\n\n.dot\nFrom x\n"
	out, err := DeliverMaildir(context.Background(), r, nil, MaildirParams{Dir: dir, Hostname: "vm.test"}, strings.NewReader(msg), 10*time.Second)
	if err != nil || out.Status != nil {
		t.Fatalf("DeliverMaildir: %v %v", err, out)
	}
	if filepath.Dir(out.Path) != filepath.Join(dir, "new") || !maildirFile.MatchString(filepath.Base(out.Path)) {
		t.Errorf("delivered to %s", out.Path)
	}
	if b, _ := os.ReadFile(out.Path); string(b) != msg {
		t.Errorf("file holds %q", b)
	}
	st := stat(t, out.Path)
	if want := MaildirName(time.Unix(0, 0), uint64(st.Dev), st.Ino, "vm.test"); !strings.Contains(filepath.Base(out.Path), want[strings.Index(want, ".V"):strings.Index(want, "M")+1]) {
		t.Errorf("name %s does not carry the device and inode (%s)", out.Path, want)
	}
	for _, sub := range []string{"tmp", "new", "cur"} {
		fi, err := os.Stat(filepath.Join(dir, sub))
		if err != nil || fi.Mode().Perm() != 0o700 {
			t.Errorf("%s: %v %v", sub, fi.Mode(), err)
		}
	}
	if ents, _ := os.ReadDir(filepath.Join(dir, "tmp")); len(ents) != 0 {
		t.Errorf("tmp/ not empty: %v", ents)
	}
	out, _ = DeliverMaildir(context.Background(), r, nil, MaildirParams{Dir: dir, Hostname: "vm.test", SizeLimit: 5}, strings.NewReader(msg), 10*time.Second)
	if out.Status == nil || out.Status.Enhanced != "5.2.2" {
		t.Errorf("over the limit: %v", out.Status)
	}
	if ents, _ := os.ReadDir(filepath.Join(dir, "tmp")); len(ents) != 0 {
		t.Errorf("tmp/ not cleaned after a failure: %v", ents)
	}
}

func TestMaildirAsUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to change credentials")
	}
	r := privexectest.Runner(t)
	home := sharedDir(t, 0o755)
	os.Chown(home, 40001, 40002)
	cred := &privexec.Cred{UID: 40001, GID: 40002}
	out, err := DeliverMaildir(context.Background(), r, cred, MaildirParams{Dir: home + "/Maildir/", Hostname: "vm"}, strings.NewReader("x\n"), 10*time.Second)
	if err != nil || out.Status != nil {
		t.Fatalf("DeliverMaildir: %v %v", err, out)
	}
	if st := stat(t, out.Path); st.Uid != 40001 || st.Gid != 40002 {
		t.Errorf("file owned by %d:%d", st.Uid, st.Gid)
	}
	// A Maildir the user cannot write bounces, with advice in the log.
	locked := sharedDir(t, 0o755)
	out, _ = DeliverMaildir(context.Background(), r, cred, MaildirParams{Dir: locked + "/Maildir/", Hostname: "vm"}, strings.NewReader("x\n"), 10*time.Second)
	if out.Status == nil || out.Status.Enhanced != "5.2.0" || !strings.Contains(out.Status.Text, "Permission denied") || len(out.Warnings) != 2 {
		t.Errorf("unwritable Maildir: %+v", out)
	}
}
