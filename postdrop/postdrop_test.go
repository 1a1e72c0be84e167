package postdrop

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/postern-mta/postern/internal/config"
	"github.com/postern-mta/postern/internal/proto"
	"github.com/postern-mta/postern/queue"
)

// frames encodes a submission the way sendmail sends it.
func frames(t testing.TB, o *proto.CleanupOpen, content string, end bool) []byte {
	var b bytes.Buffer
	put := func(kind byte, p []byte) {
		var h [5]byte
		h[0] = kind
		binary.BigEndian.PutUint32(h[1:], uint32(len(p)))
		b.Write(h[:])
		b.Write(p)
	}
	j, err := json.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	put('J', j)
	if content != "" {
		put('D', []byte(content))
	}
	if end {
		put('Z', nil)
	}
	return b.Bytes()
}

func testCfg(t testing.TB) (*Config, *queue.Layout) {
	dir := t.TempDir()
	cfg := &Config{QueueDir: filepath.Join(dir, "spool"), HashQueueNames: []string{"deferred"}, HashQueueDepth: 1,
		MessageSizeLimit: 1000, PickupService: "pickup"}
	l := queue.NewLayout(cfg.QueueDir, cfg.HashQueueNames, cfg.HashQueueDepth)
	if err := l.MakeDirs(-1, -1); err != nil {
		t.Fatal(err)
	}
	return cfg, l
}

func maildrop(t testing.TB, l *queue.Layout) []*queue.File {
	var files []*queue.File
	l.Walk(queue.Maildrop, func(id, path string) error { //nolint:errcheck
		f, err := queue.Open(path, false)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		files = append(files, f)
		return nil
	})
	return files
}

func TestDrop(t *testing.T) {
	cfg, l := testCfg(t)
	o := &proto.CleanupOpen{
		Source: "sendmail", Sender: "alice", FullName: "Alice\x07 L", Flags: proto.CleanupExtractRcpt | proto.CleanupVerify | proto.CleanupHold,
		Recipients: []proto.Rcpt{{Addr: "bob", Notify: "SUCCESS,FAILURE"}},
		DSNRet:     "HDRS", DSNEnvID: "e1",
		Attrs: []proto.Attr{{Name: "uid", Value: "0"}, {Name: proto.AttrRewriteContext, Value: "local"},
			{Name: proto.AttrClientName, Value: "x"}, {Name: proto.AttrDSNNotify, Value: "NEVER"}},
	}
	var out bytes.Buffer
	if err := drop(cfg, 4242, bytes.NewReader(frames(t, o, "Subject: x\n\nbody\n", true)), &out); err != nil {
		t.Fatal(err)
	}
	files := maildrop(t, l)
	if len(files) != 1 {
		t.Fatalf("%d maildrop files", len(files))
	}
	e := files[0].Envelope
	if e.Sender != "alice" || e.FullName != "Alice L" || e.DSNRet != "HDRS" || e.DSNEnvID != "e1" || e.Flags != queue.FlagVerify {
		t.Errorf("envelope %+v", e)
	}
	if e.Attr("uid") != "4242" || e.Attr(proto.AttrExtractRcpt) != "yes" || e.Attr(proto.AttrRewriteContext) != "local" ||
		e.Attr(proto.AttrClientName) != "" || e.Attr(proto.AttrDSNNotify) != "NEVER" {
		t.Errorf("attributes %+v", e.Attrs)
	}
	if len(e.Recipients) != 1 || e.Recipients[0].Addr != "bob" || e.Recipients[0].Notify != "SUCCESS,FAILURE" {
		t.Errorf("recipients %+v", e.Recipients)
	}
	b, _ := io.ReadAll(files[0].Content())
	if string(b) != "Subject: x\n\nbody\n" {
		t.Errorf("content %q", b)
	}
	// The answers: the queue ID, then the result.
	if !strings.Contains(out.String(), files[0].ID) {
		t.Errorf("answers do not name %s: %q", files[0].ID, out.String())
	}
}

func TestDropRefuses(t *testing.T) {
	good := func() *proto.CleanupOpen {
		return &proto.CleanupOpen{Sender: "alice", Recipients: []proto.Rcpt{{Addr: "bob"}}}
	}
	cases := []struct {
		name string
		in   []byte
		want string
	}{
		{"no end frame", frames(t, good(), "Subject: x\n", false), "read message"},
		{"empty input", nil, "read submission"},
		{"garbage", []byte("From: x\n\nhello\n"), "read submission"},
		{"too big", frames(t, good(), strings.Repeat("x", 2000), true), "message file too big"},
		{"control in sender", frames(t, &proto.CleanupOpen{Sender: "a\nb"}, "", true), "malformed sender address"},
		{"bad notify", frames(t, &proto.CleanupOpen{Sender: "a", Recipients: []proto.Rcpt{{Addr: "b", Notify: "SOMETIMES"}}}, "", true), "malformed recipient"},
		{"bad ret", frames(t, &proto.CleanupOpen{Sender: "a", DSNRet: "ALL"}, "", true), "malformed DSN RET"},
	}
	for _, tc := range cases {
		cfg, l := testCfg(t)
		err := drop(cfg, 1000, bytes.NewReader(tc.in), io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want %q", tc.name, err, tc.want)
		}
		for _, q := range []string{queue.Maildrop} {
			ents, _ := filepath.Glob(filepath.Join(l.Dir(q), "*"))
			if len(ents) != 0 {
				t.Errorf("%s: files left: %v", tc.name, ents)
			}
		}
	}
}

func TestParseArgs(t *testing.T) {
	for _, tc := range []struct {
		args []string
		dir  string
		bad  bool
	}{
		{nil, "", false},
		{[]string{"-r"}, "", false},
		{[]string{"-rv", "-c", "/etc/x"}, "/etc/x", false},
		{[]string{"-c/etc/y"}, "/etc/y", false},
		{[]string{"-rc", "/etc/z"}, "/etc/z", false},
		{[]string{"-c"}, "", true},
		{[]string{"-x"}, "", true},
		{[]string{"file"}, "", true},
	} {
		dir, err := parseArgs(tc.args)
		if (err != nil) != tc.bad || dir != tc.dir {
			t.Errorf("%q: %q, %v", tc.args, dir, err)
		}
	}
}

func TestSubmitAllowed(t *testing.T) {
	for _, tc := range []struct {
		items []string
		user  string
		want  bool
	}{
		{[]string{"static:anyone"}, "bob", true},
		{[]string{"!bob", "static:anyone"}, "bob", false},
		{[]string{"!bob", "static:anyone"}, "alice", true},
		{[]string{"root", "alice"}, "alice", true},
		{[]string{"root"}, "alice", false},
		{nil, "alice", false},
		{[]string{"inline:{alice=yes}"}, "alice", true},
		{[]string{"inline:{alice=yes}"}, "bob", false},
	} {
		got, err := submitAllowed(tc.items, tc.user)
		if err != nil || got != tc.want {
			t.Errorf("%q %s: %v %v", tc.items, tc.user, got, err)
		}
	}
}

// FuzzDrop feeds postdrop's input reader any bytes: it must refuse or
// queue, never panic, and never leave an unfinished file.
func FuzzDrop(f *testing.F) {
	ok := &proto.CleanupOpen{Sender: "a", Recipients: []proto.Rcpt{{Addr: "b"}}}
	f.Add(frames(f, ok, "Subject: x\n\nbody\n", true))
	f.Add(frames(f, ok, "", false))
	f.Add([]byte("J\x00\x00\x00\x02{}Z\x00\x00\x00\x00"))
	f.Add([]byte("D\x00\x00\x00\x01xZ\x00\x00\x00\x00"))
	f.Add([]byte("J\xff\xff\xff\xff"))
	cfg, l := testCfg(f)
	f.Fuzz(func(t *testing.T, in []byte) {
		err := drop(cfg, 1000, bytes.NewReader(in), io.Discard)
		ents, _ := filepath.Glob(filepath.Join(l.Dir(queue.Maildrop), "tmp.*"))
		if len(ents) != 0 {
			t.Fatalf("unfinished files left (err %v): %v", err, ents)
		}
	})
}

// A set-group-ID postdrop takes only the default configuration directory
// or one the default main.cf lists.
func TestTrustedDir(t *testing.T) {
	def := t.TempDir()
	old := config.DefaultDir
	config.DefaultDir = def
	t.Cleanup(func() { config.DefaultDir = old })
	if err := os.WriteFile(filepath.Join(def, "main.cf"), []byte("alternate_config_directories = /etc/postern-alt\nmulti_instance_directories = /etc/postern-2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for dir, ok := range map[string]bool{
		def: true, "/etc/postern-alt": true, "/etc/postern-2": true, "/etc/postern-alt/": true,
		"/tmp/evil": false, "/etc/postern-alt/../evil": false,
	} {
		err := trustedDir(filepath.Clean(dir))
		if (err == nil) != ok {
			t.Errorf("%s: %v", dir, err)
		}
		if err != nil && !strings.Contains(err.Error(), "untrusted configuration directory name") {
			t.Errorf("%s: %v", dir, err)
		}
	}
}

// A refusal is a fatal error on standard error (Main) and, as Postfix's
// postdrop logs it, a line in the mail log.
func TestFatalErrorLogged(t *testing.T) {
	dir := t.TempDir()
	logFile := filepath.Join(dir, "maillog")
	if err := os.WriteFile(logFile, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	mainCF := "queue_directory = " + dir + "\nmaillog_file = " + logFile + "\nmaillog_file_prefixes = " + dir + "\nauthorized_submit_users = !static:anyone\n"
	if err := os.WriteFile(filepath.Join(dir, "main.cf"), []byte(mainCF), 0o644); err != nil {
		t.Fatal(err)
	}
	err := run(nil, dir, strings.NewReader(""), io.Discard)
	if err == nil || !strings.Contains(err.Error(), "is not allowed to submit mail") {
		t.Fatalf("run: %v, want a refusal", err)
	}
	b, _ := os.ReadFile(logFile)
	if !regexp.MustCompile(`postdrop\[\d+\]: fatal: User \S+ is not allowed to submit mail\n`).Match(b) {
		t.Errorf("mail log %q has no fatal line", b)
	}
}
