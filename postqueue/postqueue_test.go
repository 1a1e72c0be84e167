package postqueue

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/config"
	"github.com/postern-mta/postern/internal/mtatest"
	"github.com/postern-mta/postern/internal/proto"
	"github.com/postern-mta/postern/queue"
)

func TestParseArgs(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want options
		err  string
	}{
		{args: []string{"-p"}, want: options{mode: modeList}},
		{args: []string{"-j"}, want: options{mode: modeJSON}},
		{args: []string{"-f"}, want: options{mode: modeFlush}},
		{args: []string{"-vp"}, want: options{mode: modeList, verbose: 1}},
		{args: []string{"-c", "/etc/x", "-p"}, want: options{mode: modeList, configDir: "/etc/x"}},
		{args: []string{"-c/etc/x", "-v", "-v", "-j"}, want: options{mode: modeJSON, configDir: "/etc/x", verbose: 2}},
		{args: []string{"-s", "example.test"}, want: options{mode: modeFlushSite, site: "example.test"}},
		{args: []string{"-sexample.test"}, want: options{mode: modeFlushSite, site: "example.test"}},
		{args: []string{"-i", "4jXRDB400qz1SCHg"}, want: options{mode: modeFlushID, id: "4jXRDB400qz1SCHg"}},
		{args: []string{"-p", "--"}, want: options{mode: modeList}},
		{args: nil, err: "usage: postqueue"},
		{args: []string{"-p", "-f"}, err: "usage: postqueue"},
		{args: []string{"-p", "extra"}, err: "usage: postqueue"},
		{args: []string{"-Z"}, err: "invalid option -- 'Z'"},
		{args: []string{"-s"}, err: "option requires an argument -- 's'"},
		{args: []string{"-v"}, err: "usage: postqueue"},
	} {
		got, err := parseArgs(tc.args)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: error %v, want %q", tc.args, err, tc.err)
			} else if fe := err.(*fatalError); fe.status != exUsage {
				t.Errorf("%q: exit status %d, want %d", tc.args, fe.status, exUsage)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%q: got %+v, %v; want %+v", tc.args, got, err, tc.want)
		}
	}
}

// instance is a configuration directory and a queue for one test.
type instance struct {
	dir, qdir string
	layout    *queue.Layout
}

func newInstance(t *testing.T, extra ...string) *instance {
	t.Helper()
	base := t.TempDir()
	in := &instance{dir: filepath.Join(base, "etc"), qdir: filepath.Join(base, "spool")}
	os.MkdirAll(in.dir, 0o755)
	main := fmt.Sprintf("queue_directory = %s\nmail_owner = nosuchuser-postern-test\n%s\n", in.qdir, strings.Join(extra, "\n"))
	if err := os.WriteFile(filepath.Join(in.dir, "main.cf"), []byte(main), 0o644); err != nil {
		t.Fatal(err)
	}
	in.layout = queue.NewLayout(in.qdir, []string{queue.Deferred, queue.Defer}, 1)
	if err := in.layout.MakeDirs(-1, -1); err != nil {
		t.Fatal(err)
	}
	return in
}

// run runs postqueue as uid with args and returns its output and status.
func (in *instance) run(t *testing.T, uid int, args ...string) (stdout, stderr string, status int) {
	t.Helper()
	var out, errb bytes.Buffer
	p := &prog{stdout: &out, stderr: &errb, uid: uid}
	status = p.main(append([]string{"-c", in.dir}, args...))
	return out.String(), errb.String(), status
}

func (in *instance) addMessage(t *testing.T, q, sender string, rcpts ...string) string {
	t.Helper()
	env := &queue.Envelope{Sender: sender, Arrival: time.Unix(1795345639, 0)}
	for _, r := range rcpts {
		env.Recipients = append(env.Recipients, queue.Recipient{Addr: r})
	}
	return mtatest.WriteQueueFile(t, in.layout, q, env, "Subject: x\n\nhello\n")
}

// fakeShowq serves a fixed listing.
func fakeShowq(t *testing.T, in *instance, entries ...*proto.QueueEntry) {
	mtatest.ServeProto(t, proto.PublicPath(in.qdir, "showq"), proto.ServiceShowq, proto.VersionShowq, func(c *proto.Conn) {
		var req proto.ShowqRequest
		if c.Recv(&req) != nil {
			return
		}
		for _, e := range entries {
			c.Queue(proto.ShowqItem{Entry: e})
		}
		c.Send(proto.ShowqItem{Done: true})
	})
}

func TestListThroughShowq(t *testing.T) {
	in := newInstance(t)
	in.addMessage(t, queue.Deferred, "not-listed@example.test", "x@example.test") // showq's answer, not the files, is listed
	fakeShowq(t, in, &proto.QueueEntry{QueueName: "hold", QueueID: "4jXRDB400qz1SCHg", ArrivalTime: 1795345770,
		MessageSize: 2048, Sender: "alice@mx.example.test", Recipients: []proto.QueueRcptRef{{Address: "bob@remote.test"}}})
	out, errs, st := in.run(t, 65534, "-p")
	if st != 0 || errs != "" {
		t.Fatalf("exit %d, stderr %q", st, errs)
	}
	if !strings.Contains(out, "4jXRDB400qz1SCHg!") || !strings.Contains(out, "bob@remote.test") ||
		!strings.HasSuffix(out, "-- 2 Kbytes in 1 Request.\n") || strings.Contains(out, "not-listed") {
		t.Errorf("listing:\n%s", out)
	}
	out, _, st = in.run(t, 65534, "-j")
	want := `{"queue_name": "hold", "queue_id": "4jXRDB400qz1SCHg", "arrival_time": 1795345770, "message_size": 2048, "forced_expire": false, "sender": "alice@mx.example.test", "recipients": [{"address": "bob@remote.test"}]}` + "\n"
	if st != 0 || out != want {
		t.Errorf("-j: exit %d:\n%s\nwant:\n%s", st, out, want)
	}
}

func TestShowqError(t *testing.T) {
	in := newInstance(t)
	mtatest.ServeProto(t, proto.PublicPath(in.qdir, "showq"), proto.ServiceShowq, proto.VersionShowq, func(c *proto.Conn) {
		var req proto.ShowqRequest
		c.Recv(&req)
		c.Send(proto.ShowqItem{Error: "list queue deferred: permission denied"})
	})
	_, errs, st := in.run(t, 0, "-p")
	if st != exTempFail || !strings.Contains(errs, "postqueue: fatal: showq: list queue deferred: permission denied") {
		t.Errorf("exit %d, stderr %q", st, errs)
	}
}

func TestMailSystemDown(t *testing.T) {
	in := newInstance(t)
	id := in.addMessage(t, queue.Deferred, "", "bob@remote.test")
	// Root reads the queue itself.
	out, errs, st := in.run(t, 0, "-p")
	if st != 0 {
		t.Fatalf("root: exit %d: %s", st, errs)
	}
	if !strings.HasPrefix(errs, "postqueue: warning: Mail system is down -- accessing queue directly (connect to the showq service: ") {
		t.Errorf("root: stderr %q", errs)
	}
	if !strings.Contains(out, id+" ") || !strings.Contains(out, "MAILER-DAEMON") {
		t.Errorf("root: listing:\n%s", out)
	}
	// Anyone else gets nothing.
	out, errs, st = in.run(t, 65534, "-p")
	if st != exUnavailable || out != "" ||
		!strings.HasPrefix(errs, "postqueue: fatal: Queue report unavailable - mail system is down (connect to the showq service: ") {
		t.Errorf("user: exit %d, stdout %q, stderr %q", st, out, errs)
	}
}

func TestMailqACL(t *testing.T) {
	in := newInstance(t, "authorized_mailq_users = root, !nobody, static:anyone", "authorized_flush_users = root")
	fakeShowq(t, in)
	_, errs, st := in.run(t, 65534, "-p")
	if st != exNoPerm || errs != "postqueue: fatal: User nobody(65534) is not allowed to view the mail queue\n" {
		t.Errorf("exit %d, stderr %q", st, errs)
	}
	_, errs, st = in.run(t, 65534, "-f")
	if st != exNoPerm || errs != "postqueue: fatal: User nobody(65534) is not allowed to flush the mail queue\n" {
		t.Errorf("flush: exit %d, stderr %q", st, errs)
	}
	// Root is not subject to the lists.
	if out, errs, st := in.run(t, 0, "-p"); st != 0 || out != "Mail queue is empty\n" {
		t.Errorf("root: exit %d, %q, %q", st, out, errs)
	}
}

func TestFlush(t *testing.T) {
	in := newInstance(t, "fast_flush_domains = remote.test")
	var mu sync.Mutex
	var got []proto.ControlRequest
	mtatest.ServeProto(t, proto.PublicPath(in.qdir, "qmgr"), proto.ServiceQmgr, proto.VersionQmgr, func(c *proto.Conn) {
		var req proto.ControlRequest
		if c.Recv(&req) != nil {
			return
		}
		mu.Lock()
		got = append(got, req)
		mu.Unlock()
		c.Send(proto.ControlReply{Count: 3})
	})
	for _, args := range [][]string{{"-f"}, {"-s", "remote.test"}, {"-i", "4jXRDB400qz1SCHg"}} {
		if _, errs, st := in.run(t, 65534, args...); st != 0 || errs != "" {
			t.Errorf("%q: exit %d, stderr %q", args, st, errs)
		}
	}
	want := []proto.ControlRequest{{Op: proto.OpFlush}, {Op: proto.OpFlushSite, Site: "remote.test"}, {Op: proto.OpFlushID, ID: "4jXRDB400qz1SCHg"}}
	mu.Lock()
	defer mu.Unlock()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("requests %+v, want %+v", got, want)
	}
}

func TestFlushErrors(t *testing.T) {
	in := newInstance(t, "fast_flush_domains = remote.test")
	for _, tc := range []struct {
		args   []string
		status int
		stderr string
	}{
		{[]string{"-f"}, exUnavailable, "postqueue: fatal: Cannot flush mail queue - mail system is down\n"},
		{[]string{"-s", "remote.test"}, exUnavailable, "postqueue: fatal: Cannot flush mail queue - mail system is down\n"},
		{[]string{"-s", "other.test"}, exUnavailable, "postqueue: fatal: Flush service is not configured for destination \"other.test\"\n"},
		{[]string{"-s", "bad site!"}, exUsage, "postqueue: fatal: Cannot flush mail queue - invalid destination: \"bad site!\"\n"},
		{[]string{"-s", "[300.1.1.1]"}, exUsage, "postqueue: fatal: Cannot flush mail queue - invalid destination: \"[300.1.1.1]\"\n"},
		{[]string{"-i", "bogus/id"}, exUsage, "postqueue: fatal: Invalid request: \"bogus/id\"\n"},
	} {
		_, errs, st := in.run(t, 65534, tc.args...)
		if st != tc.status || errs != tc.stderr {
			t.Errorf("%q: exit %d, stderr %q; want %d, %q", tc.args, st, errs, tc.status, tc.stderr)
		}
	}
}

func TestValidSite(t *testing.T) {
	for site, want := range map[string]bool{
		"remote.test": true, "[192.0.2.1]": true, "[IPv6:2001:db8::1]": true, "[ipv6:::1]": true,
		"192.0.2.1": false, "[192.0.2.1": false, "[2001:db8::1]": false, "a b": false, "": false,
	} {
		if got := validSite(site); got != want {
			t.Errorf("validSite(%q) = %v", site, got)
		}
	}
}

// A set-group-ID postqueue takes only the default configuration
// directory or one the default main.cf allows.
func TestAuthorizedDir(t *testing.T) {
	def := t.TempDir()
	old := config.DefaultDir
	config.DefaultDir = def
	defer func() { config.DefaultDir = old }()
	os.WriteFile(filepath.Join(def, "main.cf"), []byte("alternate_config_directories = /etc/postern-out\n"), 0o644)
	for dir, ok := range map[string]bool{def: true, def + "/": true, "/etc/postern-out": true, "/etc/postern-other": false, "/etc/postern-out/..": false} {
		err := authorizedDir(dir)
		if (err == nil) != ok {
			t.Errorf("%s: %v", dir, err)
		}
		if err != nil && !strings.Contains(err.Error(), "unauthorized configuration directory name: ") {
			t.Errorf("%s: message %q", dir, err)
		}
	}
	// The whole program refuses it before reading anything.
	in := newInstance(t)
	var errb bytes.Buffer
	p := &prog{stdout: io.Discard, stderr: &errb, uid: 65534, setgid: true}
	if st := p.main([]string{"-c", in.dir, "-p"}); st != exFatal ||
		errb.String() != "postqueue: fatal: unauthorized configuration directory name: "+in.dir+"\n" {
		t.Errorf("exit %d, stderr %q", st, errb.String())
	}
}

func TestImportEnv(t *testing.T) {
	for _, k := range []string{"TZ", "LANG", "FOO", "MAIL_CONFIG"} {
		t.Setenv(k, "") // restored after the test
		os.Unsetenv(k)
	}
	saved := []string{"TZ=/etc/evil", "FOO=bar", "MAIL_CONFIG=/etc/x"}
	importEnv([]string{"MAIL_CONFIG", "TZ", "LANG=C", "FOO"}, saved, true)
	if v, ok := os.LookupEnv("TZ"); ok {
		t.Errorf("TZ naming a file kept by a set-group-ID postqueue: %q", v)
	}
	if os.Getenv("LANG") != "C" || os.Getenv("FOO") != "bar" || os.Getenv("MAIL_CONFIG") != "/etc/x" {
		t.Errorf("environment: LANG=%q FOO=%q MAIL_CONFIG=%q", os.Getenv("LANG"), os.Getenv("FOO"), os.Getenv("MAIL_CONFIG"))
	}
	for _, bad := range []string{":/etc/evil", "../../etc/evil", "Europe/../../x"} {
		os.Unsetenv("TZ")
		importEnv([]string{"TZ"}, []string{"TZ=" + bad}, true)
		if _, ok := os.LookupEnv("TZ"); ok {
			t.Errorf("TZ=%s kept", bad)
		}
	}
	importEnv([]string{"TZ"}, []string{"TZ=Europe/Paris"}, true)
	if os.Getenv("TZ") != "Europe/Paris" {
		t.Errorf("TZ=Europe/Paris dropped")
	}
}

func TestIsDown(t *testing.T) {
	_, err := proto.Dial(context.Background(), filepath.Join(t.TempDir(), "nosocket"), proto.ServiceShowq, proto.VersionShowq)
	down, why := isDown(err)
	if !down || why != "connect to the showq service: no such file or directory" {
		t.Errorf("isDown(%v) = %v, %q", err, down, why)
	}
	if down, _ := isDown(errors.New("read listing from showq: EOF")); down {
		t.Error("a failure after connecting taken for a dead service")
	}
}
