package privexec_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/dsn"
	"github.com/postern-mta/postern/internal/mtatest"
	"github.com/postern-mta/postern/internal/privexec"
	"github.com/postern-mta/postern/internal/privexec/privexectest"
)

func TestMain(m *testing.M) { privexectest.Main(m) }

// Ops used by the tests; the test binary is also the helper, so they are
// registered on both sides.
func init() {
	privexec.Register("test.echo", func(_ context.Context, params json.RawMessage, content io.Reader) privexec.Result {
		b, err := io.ReadAll(content)
		if err != nil {
			return privexec.Fail("4.3.0", "read: %v", err)
		}
		res := privexec.OK("got %d bytes with %s", len(b), params)
		res.Data, _ = json.Marshal(map[string]any{"content": string(b), "pid": os.Getpid(), "uid": os.Getuid(), "gid": os.Getgid()})
		return res
	})
	privexec.Register("test.hang", func(context.Context, json.RawMessage, io.Reader) privexec.Result {
		time.Sleep(time.Minute)
		return privexec.OK("woke up")
	})
	privexec.Register("test.fail", func(context.Context, json.RawMessage, io.Reader) privexec.Result {
		return privexec.Fail("5.2.0", "no way")
	})
}

type echoData struct {
	Content string
	PID     int
	UID     int
	GID     int
}

func echo(t *testing.T, r *privexec.Runner, cred *privexec.Cred, content string) echoData {
	t.Helper()
	res, err := r.Do(context.Background(), cred, "test.echo", map[string]string{"k": "v"}, strings.NewReader(content), 10*time.Second)
	if err != nil {
		t.Fatalf("Do: %v", err)
	}
	if !res.Status.Success() {
		t.Fatalf("status %v", res.Status)
	}
	var d echoData
	if err := json.Unmarshal(res.Data, &d); err != nil {
		t.Fatal(err)
	}
	return d
}

func TestDoStreamsContentAndReusesHelper(t *testing.T) {
	r := privexectest.Runner(t)
	big := strings.Repeat("0123456789abcdef", 20000) // several frames
	first := echo(t, r, nil, big)
	if first.Content != big {
		t.Fatalf("helper got %d bytes, want %d", len(first.Content), len(big))
	}
	second := echo(t, r, nil, "small")
	if second.Content != "small" {
		t.Fatalf("second call got %q", second.Content)
	}
	if second.PID != first.PID || r.Started() != 1 {
		t.Errorf("second call ran in pid %d (first %d), %d helpers started; want the helper reused", second.PID, first.PID, r.Started())
	}
}

func TestDoFailureStatus(t *testing.T) {
	r := privexectest.Runner(t)
	res, err := r.Do(context.Background(), nil, "test.fail", nil, nil, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Status.Permanent() || res.Status.Enhanced != "5.2.0" || res.Status.Text != "no way" {
		t.Errorf("status %+v, want 5.2.0 no way", res.Status)
	}
	res, err = r.Do(context.Background(), nil, "no.such.op", nil, nil, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Status.Temporary() || !strings.Contains(res.Status.Text, "unknown privexec operation") {
		t.Errorf("unknown op gave %+v", res.Status)
	}
}

func TestDoAsAnotherUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to change credentials")
	}
	r := privexectest.Runner(t)
	d := echo(t, r, &privexec.Cred{UID: 65534, GID: 65534}, "x")
	if d.UID != 65534 || d.GID != 65534 {
		t.Errorf("helper ran as %d/%d, want 65534/65534", d.UID, d.GID)
	}
	d2 := echo(t, r, &privexec.Cred{UID: 12345, GID: 12346}, "x")
	if d2.UID != 12345 || d2.GID != 12346 || d2.PID == d.PID {
		t.Errorf("second user: %+v (first pid %d); want 12345/12346 in another helper", d2, d.PID)
	}
}

func TestDoTimeLimitKillsHelper(t *testing.T) {
	r := privexectest.Runner(t)
	start := time.Now()
	_, err := r.Do(context.Background(), nil, "test.hang", nil, nil, 300*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "time limit") {
		t.Fatalf("Do = %v, want a time limit error", err)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("Do took %s", el)
	}
	// The killed helper is not reused.
	echo(t, r, nil, "after")
	if r.Started() != 2 {
		t.Errorf("%d helpers started, want 2", r.Started())
	}
}

func TestDoRetriesHelperThatDiedIdle(t *testing.T) {
	r := privexectest.Runner(t)
	d := echo(t, r, nil, "x")
	if err := syscall.Kill(d.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitGone(t, d.PID)
	d2 := echo(t, r, nil, "y")
	if d2.PID == d.PID || d2.Content != "y" {
		t.Errorf("after the helper died: %+v", d2)
	}
}

func TestIdleHelpersAreReaped(t *testing.T) {
	r := privexectest.Runner(t)
	r.Idle = 100 * time.Millisecond
	d := echo(t, r, nil, "x")
	waitGone(t, d.PID)
}

func TestCloseEndsHelpers(t *testing.T) {
	r := privexectest.Runner(t)
	d := echo(t, r, nil, "x")
	r.Close()
	waitGone(t, d.PID)
	if _, err := r.Do(context.Background(), nil, "test.echo", nil, nil, time.Second); err == nil {
		t.Error("Do after Close succeeded")
	}
}

// waitGone waits until a helper has exited and been waited for.
func waitGone(t *testing.T, pid int) {
	t.Helper()
	mtatest.WaitFor(t, 10*time.Second, "process "+strconv.Itoa(pid)+" to end", func() bool {
		_, err := os.Stat("/proc/" + strconv.Itoa(pid))
		return err != nil
	})
}

// waitDead waits until a process someone else reaps has died: a zombie
// keeps its /proc entry until its parent waits for it.
func waitDead(t *testing.T, pid int) {
	t.Helper()
	mtatest.WaitFor(t, 10*time.Second, "process "+strconv.Itoa(pid)+" to die", func() bool {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			return true
		}
		f := strings.Fields(string(b))
		return len(f) > 2 && f[2] == "Z"
	})
}

func TestReadFile(t *testing.T) {
	r := privexectest.Runner(t)
	dir := t.TempDir()
	p := filepath.Join(dir, "forward")
	os.WriteFile(p, []byte("bob@example.test\n"), 0o644)
	fd, err := r.ReadFile(context.Background(), nil, p, 1024, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if string(fd.Content) != "bob@example.test\n" || fd.UID != os.Getuid() {
		t.Errorf("got %q uid %d", fd.Content, fd.UID)
	}
	_, err = r.ReadFile(context.Background(), nil, p, 4, 5*time.Second)
	var st *dsn.Status
	if !errors.As(err, &st) || !st.Permanent() {
		t.Errorf("over the limit: %v, want a permanent status", err)
	}
	_, err = r.ReadFile(context.Background(), nil, filepath.Join(dir, "missing"), 10, 5*time.Second)
	if !errors.As(err, &st) || !strings.Contains(st.Text, "no such file") {
		t.Errorf("missing file: %v", err)
	}
	if os.Geteuid() == 0 {
		secret := filepath.Join(dir, "secret")
		os.WriteFile(secret, []byte("x"), 0o600)
		os.Chmod(dir, 0o755)
		_, err = r.ReadFile(context.Background(), &privexec.Cred{UID: 65534, GID: 65534}, secret, 10, 5*time.Second)
		if !errors.As(err, &st) || !strings.Contains(st.Text, "permission denied") {
			t.Errorf("nobody read root's 0600 file: %v", err)
		}
	}
}

func TestConcurrentDo(t *testing.T) {
	r := privexectest.Runner(t)
	errs := make(chan error, 8)
	for i := range 8 {
		go func() {
			msg := strings.Repeat(strconv.Itoa(i), 1000+i)
			res, err := r.Do(context.Background(), nil, "test.echo", nil, bytes.NewReader([]byte(msg)), 10*time.Second)
			if err == nil && !strings.Contains(res.Status.Text, strconv.Itoa(len(msg))+" bytes") {
				err = errors.New(res.Status.Text)
			}
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
