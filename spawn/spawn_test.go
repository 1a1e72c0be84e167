package spawn

import (
	"bufio"
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/maillog"
	"github.com/postern-mta/postern/internal/mtatest"
	"github.com/postern-mta/postern/internal/privexec"
)

// policyd is a tiny policy server in the shell: it answers every
// request (attribute lines ending with an empty line) with DUNNO, or
// REJECT for a recipient named reject@…, and notes who it runs as.
const policyd = `#!/bin/sh
id -u > "$OUT/uid"
while read -r line; do
	case "$line" in
	recipient=reject@*) action="REJECT go away" ;;
	recipient=*) action=DUNNO ;;
	"") printf 'action=%s\n\n' "$action" ;;
	esac
done
`

func startSpawn(t *testing.T, limit time.Duration, maxProc int, argv ...string) (sock, out string, log *mtatest.LogBuffer) {
	t.Helper()
	dir := t.TempDir()
	os.Chmod(filepath.Dir(dir), 0o755)
	os.Chmod(dir, 0o755)
	out = filepath.Join(dir, "out")
	os.Mkdir(out, 0o777)
	os.Chmod(out, 0o1777)
	script := filepath.Join(dir, "policyd")
	os.WriteFile(script, []byte(policyd), 0o755)
	for i, a := range argv {
		argv[i] = strings.ReplaceAll(a, "POLICYD", script)
	}
	cred := privexec.Cred{UID: uint32(os.Getuid()), GID: uint32(os.Getgid())}
	if os.Geteuid() == 0 {
		cred = privexec.Cred{UID: 65534, GID: 65534}
	}
	log = &mtatest.LogBuffer{}
	srv := NewServer(Config{Argv: argv, Cred: cred, TimeLimit: limit, Env: []string{"PATH=/usr/bin:/bin", "OUT=" + out},
		Dir: dir, Grace: time.Second}, maillog.New(log, "postern", "spawn", 5))
	sock = filepath.Join(dir, "policy")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, []net.Listener{ln}, maxProc) }()
	t.Cleanup(func() { cancel(); <-done })
	return sock, out, log
}

// ask sends one policy request and returns the reply's first line.
func ask(t *testing.T, c net.Conn, br *bufio.Reader, rcpt string) string {
	t.Helper()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, "request=smtpd_access_policy\nprotocol_state=RCPT\nrecipient="+rcpt+"\n\n"); err != nil {
		t.Fatal(err)
	}
	line, err := br.ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	if blank, _ := br.ReadString('\n'); blank != "\n" {
		t.Fatalf("reply not ended by an empty line: %q", blank)
	}
	return strings.TrimSuffix(line, "\n")
}

func TestPolicyServer(t *testing.T) {
	sock, out, _ := startSpawn(t, 10*time.Second, 0, "POLICYD")
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	if got := ask(t, c, br, "bob@example.test"); got != "action=DUNNO" {
		t.Errorf("first reply %q", got)
	}
	if got := ask(t, c, br, "reject@example.test"); got != "action=REJECT go away" {
		t.Errorf("second reply %q", got)
	}
	if os.Geteuid() == 0 {
		mtatest.WaitFor(t, 5*time.Second, "the uid file", func() bool {
			b, _ := os.ReadFile(filepath.Join(out, "uid"))
			return strings.TrimSpace(string(b)) == "65534"
		})
	}
}

func TestMaxProcAndConcurrency(t *testing.T) {
	sock, _, _ := startSpawn(t, 10*time.Second, 2, "POLICYD")
	var conns []net.Conn
	for range 3 {
		c, err := net.Dial("unix", sock)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns = append(conns, c)
	}
	// Two are served at once; the third waits for one to end.
	for _, c := range conns[:2] {
		if got := ask(t, c, bufio.NewReader(c), "a@b"); got != "action=DUNNO" {
			t.Fatalf("reply %q", got)
		}
	}
	c3 := conns[2]
	c3.SetDeadline(time.Now().Add(300 * time.Millisecond))
	io.WriteString(c3, "recipient=x@y\n\n")
	if _, err := bufio.NewReader(c3).ReadString('\n'); err == nil {
		t.Fatal("third client served beyond maxproc 2")
	}
	conns[0].Close()
	br := bufio.NewReader(c3)
	c3.SetDeadline(time.Now().Add(10 * time.Second))
	if line, err := br.ReadString('\n'); err != nil || line != "action=DUNNO\n" {
		t.Errorf("third client after a slot freed: %q %v", line, err)
	}
}

func TestTimeLimitAndExitStatus(t *testing.T) {
	sock, _, log := startSpawn(t, 300*time.Millisecond, 0, "/bin/sleep", "30")
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadAll(c); err != nil {
		t.Errorf("read: %v", err)
	}
	mtatest.WaitFor(t, 5*time.Second, "the time limit warning", func() bool {
		return strings.Contains(log.String(), "warning: /bin/sleep: command time limit exceeded")
	})

	sock, _, log = startSpawn(t, 10*time.Second, 0, "/bin/sh", "-c", "exit 3")
	c, err = net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	mtatest.WaitFor(t, 5*time.Second, "the exit status warning", func() bool {
		return strings.Contains(log.String(), "warning: command /bin/sh exit status 3")
	})
}

func TestParseArgs(t *testing.T) {
	u, argv, err := ParseArgs([]string{"user=nobody", "argv=/usr/bin/policyd", "-v", "x=y"})
	if err != nil || u != "nobody" || strings.Join(argv, " ") != "/usr/bin/policyd -v x=y" {
		t.Errorf("got %q %q %v", u, argv, err)
	}
	for _, args := range [][]string{{"user=nobody"}, {"argv=/bin/true"}, {"user=x", "flags=R", "argv=/bin/true"}, {"oops"}} {
		if _, _, err := ParseArgs(args); err == nil {
			t.Errorf("ParseArgs(%q) accepted", args)
		}
	}
}
