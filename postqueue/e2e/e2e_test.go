// Package e2e holds the end-to-end scenarios of the queue listing and
// postqueue: a real Postern instance (internal/mtatest) with deferred
// mail. They need the whole mail path and take longer than the unit
// tests, so they live apart: "go test ./postqueue/e2e/".
package e2e

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/mtatest"
	"github.com/postern-mta/postern/internal/proto"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// deferringInstance is a running instance whose relayhost refuses
// connections, with retries far apart so that deferred mail stays in the
// deferred queue while the test looks at it.
func deferringInstance(t *testing.T) (*mtatest.Instance, int) {
	if testing.Short() {
		t.Skip("end-to-end test skipped with -short")
	}
	in := mtatest.New(t)
	port := in.RelayToClosedPort(t)
	in.Set("alias_maps", "")
	in.Set("alias_database", "")
	in.Start()
	return in, port
}

func content(subject string) string {
	return "From: alice@mx.example.test\r\nTo: user@remote.test\r\nSubject: " + subject + "\r\n\r\nhello\r\n"
}

// waitListing polls postqueue -p until cond holds.
func waitListing(t *testing.T, in *mtatest.Instance, what string, cond func(string) bool) string {
	t.Helper()
	var out string
	mtatest.WaitFor(t, 30*time.Second, what, func() bool {
		res := in.Run("postqueue", "-p")
		out = res.Stdout
		return res.Exit == 0 && cond(out)
	})
	return out
}

var (
	senderLine = regexp.MustCompile(`^(\S+?)([*!#]*) +(\d+) (\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d) (\S+)$`)
	reasonLine = regexp.MustCompile(`^( *)\((.*)\)$`)
	portRE     = regexp.MustCompile(`:\d+:`)
)

// maskListing checks the exact columns of every sender and reason line of
// a postqueue -p listing, then replaces what changes from run to run (IDs,
// sizes, times, the port) and sorts the entries, so that the result can
// be compared with a golden file.
func maskListing(t *testing.T, out string) string {
	t.Helper()
	if !strings.HasSuffix(out, "\n") {
		t.Fatalf("listing does not end with a newline: %q", out)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) < 3 || lines[0] != "----Queue ID----- --Size-- ---Arrival Time---- --Sender/Recipient------" {
		t.Fatalf("listing:\n%s", out)
	}
	var entries []string
	var cur []string
	for _, line := range lines[1 : len(lines)-2] {
		switch m := senderLine.FindStringSubmatch(line); {
		case line == "":
			entries = append(entries, strings.Join(cur, "\n"))
			cur = nil
		case m != nil:
			size, _ := strconv.Atoi(m[3])
			if want := fmt.Sprintf("%-17s %8d %19.19s %s", m[1]+m[2], size, m[4], m[5]); want != line {
				t.Errorf("sender line %q, want %q", line, want)
			}
			cur = append(cur, fmt.Sprintf("%-17s %8s %19s %s", "QUEUEID"+m[2], "SIZE", "ARRIVAL", m[5]))
		case reasonLine.MatchString(line):
			m := reasonLine.FindStringSubmatch(line)
			if len(m[1]) != max(76-len(m[2]), 0) {
				t.Errorf("reason line %q: %d spaces, want %d", line, len(m[1]), max(76-len(m[2]), 0))
			}
			r := portRE.ReplaceAllString(m[2], ":PORT:")
			cur = append(cur, strings.Repeat(" ", max(76-len(r), 0))+"("+r+")")
		default:
			cur = append(cur, line)
		}
	}
	entries = append(entries, strings.Join(cur, "\n"))
	sort.Strings(entries)
	return lines[0] + "\n" + strings.Join(entries, "\n\n") + "\n" + lines[len(lines)-2] + "\n" +
		regexp.MustCompile(`\d+ Kbytes`).ReplaceAllString(lines[len(lines)-1], "N Kbytes") + "\n"
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		os.MkdirAll("testdata", 0o755)
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -update writes it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (go test -update rewrites it)\n--- got:\n%s\n--- want:\n%s", path, got, want)
	}
}

// Deferred mail as mailq shows it, through the showq service.
func TestMailqDeferredE2E(t *testing.T) {
	in, _ := deferringInstance(t)
	in.SubmitSMTP(t, "alice@mx.example.test", []string{"user@remote.test", "someone@elsewhere.test"}, content("one"))
	in.SubmitSMTP(t, "", []string{"bounce@remote.test"}, content("two"))
	out := waitListing(t, in, "two deferred messages with their reasons", func(out string) bool {
		return strings.Contains(out, "in 2 Requests.") && strings.Count(out, "Connection refused)") == 2 && !strings.Contains(out, "*")
	})
	golden(t, "e2e_mailq.txt", maskListing(t, out))

	// mailq and sendmail -bp are postqueue -p.
	for _, cmd := range [][]string{{"mailq"}, {"sendmail", "-bp"}} {
		if res := in.Run(cmd[0], cmd[1:]...); res.Stdout != out || res.Exit != 0 {
			t.Errorf("%s: exit %d, stderr %q, output:\n%s\nwant:\n%s", cmd, res.Exit, res.Stderr, res.Stdout, out)
		}
	}

	// -j: one object per message, Postfix's members.
	res := in.Run("postqueue", "-j")
	lines := strings.Split(strings.TrimSuffix(res.Stdout, "\n"), "\n")
	if res.Exit != 0 || len(lines) != 2 {
		t.Fatalf("postqueue -j: exit %d, %q", res.Exit, res.Stdout)
	}
	senders := map[string]bool{}
	for _, line := range lines {
		var e proto.QueueEntry
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		senders[e.Sender] = true
		if e.QueueName != "deferred" || e.ArrivalTime < time.Now().Add(-time.Hour).Unix() || e.MessageSize <= 0 || e.ForcedExpire || len(e.Recipients) == 0 {
			t.Errorf("entry %+v", e)
		}
		for _, r := range e.Recipients {
			if !strings.Contains(r.DelayReason, "Connection refused") {
				t.Errorf("recipient %+v: no delay reason", r)
			}
		}
	}
	if !senders["alice@mx.example.test"] || !senders["MAILER-DAEMON"] {
		t.Errorf("senders %v", senders)
	}
}

// An ordinary user lists the queue through showq with a set-group-ID
// postqueue, and is told when the mail system is down.
func TestPostqueueUnprivilegedE2E(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to install a set-group-ID postqueue and run it as another user")
	}
	in, _ := deferringInstance(t)
	id := in.SubmitSMTP(t, "alice@mx.example.test", []string{"user@remote.test"}, content("one"))
	waitListing(t, in, "the deferred message", func(out string) bool { return strings.Contains(out, "Connection refused)") })

	// A postqueue whose default configuration directory is the
	// instance's: a set-group-ID postqueue takes no other.
	binDir, err := os.MkdirTemp("", "postqueue-setgid-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(binDir)
	os.Chmod(binDir, 0o755)
	bin := filepath.Join(binDir, "postqueue")
	_, file, _, _ := runtime.Caller(0)
	build := exec.Command("go", "build", "-o", bin,
		"-ldflags", "-X github.com/postern-mta/postern/internal/config.DefaultDir="+in.ConfigDir, "./cmd/postqueue")
	build.Dir = filepath.Join(filepath.Dir(file), "..", "..")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	gid := lookupGroup(t, mtatest.SetgidGroup)
	if err := os.Chown(bin, 0, gid); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(bin, 0o755|os.ModeSetgid); err != nil {
		t.Fatal(err)
	}
	asNobody := func(args ...string) (string, string, int) {
		cmd := exec.Command(bin, args...)
		cmd.Env = []string{"MAIL_CONFIG=" + in.ConfigDir, "PATH=/usr/bin:/bin"}
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		var out, errb strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		status := 0
		if ee, ok := err.(*exec.ExitError); ok {
			status = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return out.String(), errb.String(), status
	}
	out, errs, st := asNobody("-p")
	if st != 0 || !strings.Contains(out, id+" ") || !strings.Contains(out, "-- 0 Kbytes in 1 Request.") {
		t.Errorf("nobody: exit %d, stderr %q, listing:\n%s", st, errs, out)
	}
	// Another configuration directory is refused.
	other := t.TempDir()
	os.Chmod(other, 0o755)
	cmd := exec.Command(bin, "-c", other, "-p")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	if b, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(b), "unauthorized configuration directory name: "+other) {
		t.Errorf("other config dir: %v, %q", err, b)
	}

	in.Stop()
	out, errs, st = asNobody("-p")
	if st != 69 || out != "" || !strings.HasPrefix(errs, "postqueue: fatal: Queue report unavailable - mail system is down (") {
		t.Errorf("down, nobody: exit %d, stdout %q, stderr %q", st, out, errs)
	}
	res := in.Run("postqueue", "-p")
	if res.Exit != 0 || !strings.Contains(res.Stdout, id+" ") ||
		!strings.HasPrefix(res.Stderr, "postqueue: warning: Mail system is down -- accessing queue directly (") {
		t.Errorf("down, root: exit %d, stderr %q, listing:\n%s", res.Exit, res.Stderr, res.Stdout)
	}
	// As Postfix's postqueue, it logs its warnings to the mail log too.
	in.WaitLog(`postern/postqueue\[\d+\]: warning: Mail system is down -- accessing queue directly`, 5*time.Second)
	_, errs, st = asNobody("-f")
	if st != 69 || errs != "postqueue: fatal: Cannot flush mail queue - mail system is down\n" {
		t.Errorf("flush, down: exit %d, %q", st, errs)
	}
}

func lookupGroup(t *testing.T, name string) int {
	t.Helper()
	b, err := os.ReadFile("/etc/group")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Split(line, ":")
		if len(f) >= 3 && f[0] == name {
			gid, err := strconv.Atoi(f[2])
			if err == nil {
				return gid
			}
		}
	}
	t.Fatalf("group %s not found", name)
	return -1
}
