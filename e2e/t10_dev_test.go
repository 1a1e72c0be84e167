package e2e

import (
	"bufio"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/mtatest"
)

// devAddr is where "postern dev" listens for SMTP; it is fixed.
const devAddr = "127.0.0.1:2525"

// t10: the development instance. "postern dev DIR" writes a
// configuration under DIR/etc and runs in the foreground; mail sent with
// swaks to anyone@localhost lands in the Maildir DIR/mail/inbox; "postfix
// -c DIR/etc stop" stops it, and the foreground process exits.
func TestT10DevInstance(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end scenario skipped with -short")
	}
	swaks, err := exec.LookPath("swaks")
	if err != nil {
		t.Skip("swaks is not installed")
	}
	if ln, err := net.Listen("tcp", devAddr); err != nil {
		t.Skipf("%s is taken (%v): another postern dev runs here", devAddr, err)
	} else {
		ln.Close()
	}
	t.Parallel()
	mtatest.EnsureAccounts(t) // the dev configuration keeps the default mail_owner
	bin := mtatest.Bin(t)
	base, err := os.MkdirTemp("", "postern-dev-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(base, 0o755) // daemons run as mail_owner when the test runs as root
	dir := filepath.Join(base, "dev")
	out, err := os.Create(filepath.Join(base, "dev.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dev := exec.CommandContext(ctx, filepath.Join(bin, "postern"), "dev", dir)
	dev.Env = withoutMailConfig(os.Environ())
	dev.Stdout, dev.Stderr = out, out
	if err := dev.Start(); err != nil {
		t.Fatalf("postern dev: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- dev.Wait() }()
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			// A failed test: stop the instance, children included.
			exec.Command(filepath.Join(bin, "postfix"), "-c", filepath.Join(dir, "etc"), "abort").Run()
			cancel()
			<-exited
		}
		if t.Failed() {
			log, _ := os.ReadFile(out.Name())
			t.Logf("instance kept for inspection: %s\npostern dev said:\n%s", base, log)
			return
		}
		os.RemoveAll(base)
	})

	mtatest.WaitFor(t, 20*time.Second, "the dev instance's SMTP banner on "+devAddr, func() bool {
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("postern dev exited: %v", err)
		default:
		}
		return strings.HasPrefix(banner(devAddr), "220 localhost.localdomain ESMTP")
	})
	for _, f := range []string{"etc/main.cf", "etc/master.cf"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("postern dev wrote no %s: %v", f, err)
		}
	}

	sw := exec.CommandContext(ctx, swaks, "--server", devAddr, "--from", "me@example.org", "--to", "someone@localhost",
		"--header", "Subject: t10 from swaks", "--body", "hello dev instance", "--timeout", "10")
	transcript, err := sw.CombinedOutput()
	if err != nil || !regexp.MustCompile(`<-  250 2\.0\.0 Ok: queued as \w+`).Match(transcript) {
		t.Fatalf("swaks: %v\n%s", err, transcript)
	}

	files := waitGlob(t, filepath.Join(dir, "mail", "inbox", "new", "*"), 1)
	got := readFile(t, files[0])
	for _, want := range []string{
		`^Return-Path: <me@example\.org>\n`,
		`\nDelivered-To: someone@localhost\n`,
		`\nSubject: t10 from swaks\n`,
		`\n\nhello dev instance\n`,
	} {
		if !regexp.MustCompile(want).MatchString(got) {
			t.Errorf("the message in the inbox lacks %s:\n%s", want, got)
		}
	}

	res := exec.Command(filepath.Join(bin, "postfix"), "-c", filepath.Join(dir, "etc"), "stop")
	res.Env = withoutMailConfig(os.Environ())
	if b, err := res.CombinedOutput(); err != nil {
		t.Fatalf("postfix -c %s/etc stop: %v\n%s", dir, err, b)
	}
	select {
	case err := <-exited:
		stopped = true
		if err != nil {
			t.Errorf("postern dev ended with %v after postfix stop", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("postern dev still runs 20s after postfix stop")
	}
	if b := banner(devAddr); b != "" {
		t.Errorf("something still answers on %s after stop: %q", devAddr, b)
	}
	// A fresh machine's first run has nothing to warn about (no alias
	// database to build, say).
	said, _ := os.ReadFile(out.Name())
	if w := regexp.MustCompile(`(?m)^.*: (warning|error|fatal): .*$`).Find(said); w != nil {
		t.Errorf("postern dev logged %q", w)
	}
}

// banner returns the first line an SMTP server at addr says, or "".
func banner(addr string) string {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return ""
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	line, _ := bufio.NewReader(c).ReadString('\n')
	c.Write([]byte("QUIT\r\n"))
	return strings.TrimRight(line, "\r\n")
}

// withoutMailConfig is env without MAIL_CONFIG, so that only -c names the
// configuration.
func withoutMailConfig(env []string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, "MAIL_CONFIG=") {
			out = append(out, kv)
		}
	}
	return out
}
