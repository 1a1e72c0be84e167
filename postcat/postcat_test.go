package postcat

import (
	"bytes"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/postern-mta/postern/queue"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func TestMain(m *testing.M) {
	time.Local = time.UTC // golden files show times in UTC
	os.Exit(m.Run())
}

// The ID a real Postfix gave a message (COMPAT.md §5); its hashed
// directory is 8.
const testID = "4jXRDB400qz1SCHg"

const testContent = "Received: from client.example.test (localhost [127.0.0.1])\n" +
	"\tby mx.example.test (Postern) with ESMTP id 4jXRDB400qz1SCHg;\n" +
	"\tSun, 22 Nov 2026 11:07:19 +0000 (UTC)\n" +
	"From: Alice <alice@mx.example.test>\n" +
	"To: bob@mx.example.test\n" +
	"Subject: hello\n" +
	"\n" +
	"Hello Bob.\n" +
	"Subject: not a header in the body\n" +
	".\n" +
	"last line without newline"

// queueTree makes a queue directory holding one deferred message named
// testID, its second recipient done, and returns its layout.
func queueTree(t *testing.T) *queue.Layout {
	t.Helper()
	l := queue.NewLayout(t.TempDir(), []string{queue.Deferred, queue.Defer}, 1)
	if err := l.MakeDirs(-1, -1); err != nil {
		t.Fatal(err)
	}
	w, err := l.NewWriter(queue.Incoming)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	arrival, _ := queue.IDTime(testID)
	w.SetEnvelope(&queue.Envelope{
		Arrival:  arrival,
		Sender:   "alice@mx.example.test",
		FullName: "Alice",
		Attrs: []queue.Attr{
			{Name: "client_name", Value: "client.example.test"},
			{Name: "client_address", Value: "127.0.0.1"},
			{Name: "helo_name", Value: "client.example.test\x1b[31m"},
			{Name: "protocol_name", Value: "ESMTP"},
		},
		DSNRet:   "HDRS",
		DSNEnvID: "env-1",
		WarnTime: arrival.Add(4 * time.Hour),
		Recipients: []queue.Recipient{
			{Addr: "bob@mx.example.test", Orig: "Bob@mx.example.test", Notify: "SUCCESS,DELAY", ORCPT: "rfc822;Bob@mx.example.test"},
			{Addr: "carol@remote.test"},
		},
	})
	io.WriteString(w, testContent)
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	path := l.Path(queue.Deferred, testID)
	if err := os.Rename(l.Path(queue.Incoming, w.ID()), path); err != nil {
		t.Fatal(err)
	}
	f, err := queue.Open(path, true)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.MarkDone(1); err != nil {
		t.Fatal(err)
	}
	return l
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	file := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(file, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (rerun with -update if intended):\n%s", file, got)
	}
}

func TestGolden(t *testing.T) {
	l := queueTree(t)
	cases := []struct {
		name string
		opt  options
	}{
		{"all", options{}},
		{"envelope", options{Envelope: true}},
		{"header", options{Header: true}},
		{"body", options{Body: true}},
		{"header-body", options{Header: true, Body: true}},
		{"offsets", options{Offsets: true}},
		{"decimal-envelope", options{Envelope: true, Decimal: true, Offsets: true}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			if err := catQueue(&out, l, []string{testID}, tc.opt); err != nil {
				t.Fatal(err)
			}
			golden(t, tc.name, out.Bytes())
		})
	}
}

// runCommand runs postcat with args as a user would, and returns its
// standard output, standard error and whether it failed.
func runCommand(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	cmd := Command()
	var out, errOut bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetArgs(args)
	err := cmd.Execute()
	return out.String(), errOut.String(), err
}

func TestCommandQueue(t *testing.T) {
	l := queueTree(t)
	conf := t.TempDir()
	mainCF := "queue_directory = " + l.Root + "\nhash_queue_names = deferred, defer\n"
	if err := os.WriteFile(filepath.Join(conf, "main.cf"), []byte(mainCF), 0o644); err != nil {
		t.Fatal(err)
	}
	out, stderr, err := runCommand(t, "-c", conf, "-q", testID)
	if err != nil || stderr != "" {
		t.Fatalf("postcat -q: %v, stderr %q", err, stderr)
	}
	golden(t, "all", []byte(out))

	out, stderr, err = runCommand(t, "-c", conf, "-eq", "4jXRDB400qz1SCHh")
	if err == nil || out != "" || stderr != "postcat: fatal: open queue file 4jXRDB400qz1SCHh: no such file in the queue\n" {
		t.Errorf("missing ID: %v, stdout %q, stderr %q", err, out, stderr)
	}
	_, stderr, err = runCommand(t, "-c", conf, "-q", "../../etc/passwd")
	if err == nil || stderr != "postcat: fatal: bad mail queue ID: ../../etc/passwd\n" {
		t.Errorf("bad ID: %v, stderr %q", err, stderr)
	}
}

func TestCommandFile(t *testing.T) {
	l := queueTree(t)
	t.Chdir(l.Root)
	name := filepath.Join(queue.Deferred, "8", testID)
	out, stderr, err := runCommand(t, "-bh", name)
	if err != nil || stderr != "" || out != testContent+"\n" {
		t.Errorf("postcat -bh: %v, stderr %q, stdout %q", err, stderr, out)
	}
	out, _, _ = runCommand(t, "-e", name)
	if !strings.HasPrefix(out, "*** ENVELOPE RECORDS deferred/8/"+testID+" ***\n") {
		t.Errorf("postcat -e FILE: %q", out)
	}

	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("cut", data[:len(data)-2], 0o600); err != nil {
		t.Fatal(err)
	}
	out, stderr, err = runCommand(t, "cut")
	want := "postcat: fatal: queue file cut: truncated: no end record (offset " // and the offset
	if err == nil || out != "" || !strings.HasPrefix(stderr, want) || strings.Count(stderr, "\n") != 1 {
		t.Errorf("truncated file: %v, stdout %q, stderr %q; want %q…", err, out, stderr, want)
	}

	_, stderr, err = runCommand(t, "-x", name)
	if err == nil || !strings.Contains(stderr, "postcat: fatal: usage: postcat") {
		t.Errorf("bad option: %v, stderr %q", err, stderr)
	}
	_, stderr, err = runCommand(t)
	if err == nil || !strings.Contains(stderr, "postcat: fatal: usage: postcat") {
		t.Errorf("no arguments: %v, stderr %q", err, stderr)
	}
}
