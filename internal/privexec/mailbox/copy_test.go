package mailbox

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// fromTime is the From_ line time of the golden files, in UTC.
var fromTime = time.Date(2026, 11, 22, 11, 7, 19, 0, time.UTC)

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs:\ngot:\n%s\nwant:\n%s", name, got, want)
	}
}

func TestCopyGolden(t *testing.T) {
	t.Setenv("TZ", "UTC")
	local := time.Local
	time.Local = time.UTC
	defer func() { time.Local = local }()
	msg, err := os.ReadFile("testdata/message.txt")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		golden string
		opt    CopyOptions
	}{
		{"mbox.golden", Mbox("alice@example.test", "Bob@MX.example.test", "Bob@MX.example.test", fromTime)},
		{"mbox-null-sender.golden", Mbox("", "bob@mx.example.test", "", fromTime)},
		{"maildir.golden", Maildir("alice@example.test", "bob@mx.example.test", "bob@mx.example.test")},
		{"pipe-crlf-dot.golden", CopyOptions{FromLine: true, Time: fromTime, Sender: `"odd user"@example.test`,
			ReturnPath: true, DotStuff: true, QuoteFrom: true, BlankLine: true, EOL: "\r\n"}},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			var out bytes.Buffer
			n, err := Copy(&out, bytes.NewReader(msg), tc.opt)
			if err != nil {
				t.Fatal(err)
			}
			if n != int64(out.Len()) {
				t.Errorf("Copy returned %d, wrote %d", n, out.Len())
			}
			golden(t, tc.golden, out.Bytes())
		})
	}
}

func TestCopyLongLines(t *testing.T) {
	long := strings.Repeat("x", 200000)
	in := "Subject: long\n\n" + long + "\nFrom " + long + "\n" + "." + long
	var out bytes.Buffer
	if _, err := Copy(&out, strings.NewReader(in), CopyOptions{QuoteFrom: true, DotStuff: true, EOL: "\r\n"}); err != nil {
		t.Fatal(err)
	}
	want := "Subject: long\r\n\r\n" + long + "\r\n>From " + long + "\r\n" + ".." + long + "\r\n"
	if out.String() != want {
		t.Errorf("long lines changed: got %d bytes, want %d", out.Len(), len(want))
	}
	// A long line that happens to contain "From " after a buffer boundary
	// is not quoted.
	in = strings.Repeat("y", 65536) + "From x\n"
	out.Reset()
	Copy(&out, strings.NewReader(in), CopyOptions{QuoteFrom: true})
	if out.String() != in {
		t.Errorf("text inside a long line was quoted")
	}
}

func TestCopyFastPathAddsFinalNewline(t *testing.T) {
	for in, want := range map[string]string{
		"":             "",
		"a: b\n\nbody": "a: b\n\nbody\n",
		"a: b\n\nok\n": "a: b\n\nok\n",
	} {
		var out bytes.Buffer
		Copy(&out, strings.NewReader(in), CopyOptions{})
		if out.String() != want {
			t.Errorf("Copy(%q) = %q, want %q", in, out.String(), want)
		}
	}
}

func TestHeadQuoting(t *testing.T) {
	o := CopyOptions{ReturnPath: true, Sender: "a b@example.test", OrigRcpt: "x@y", DeliveredTo: "X@Y"}
	want := "Return-Path: <\"a b\"@example.test>\nX-Original-To: x@y\nDelivered-To: x@y\n"
	if got := o.Head(); got != want {
		t.Errorf("Head = %q, want %q", got, want)
	}
}

func TestDeliveredTo(t *testing.T) {
	msg := "Received: x\nDelivered-To: Bob@Example.test\nDelivered-to:\n  folded@example.test\nX: y\n\nDelivered-To: body@example.test\n"
	got, err := DeliveredTo(strings.NewReader(msg), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || !got["bob@example.test"] || !got["folded@example.test"] {
		t.Errorf("DeliveredTo = %v", got)
	}
	got, _ = DeliveredTo(strings.NewReader(msg), 20)
	if len(got) != 0 {
		t.Errorf("past the limit: %v", got)
	}
	got, _ = DeliveredTo(strings.NewReader("Delivered-To: a@b"), 100)
	if !got["a@b"] {
		t.Errorf("header without a newline: %v", got)
	}
}

func TestMaildirName(t *testing.T) {
	tm := time.Unix(1795345894, 92284000)
	if got := MaildirName(tm, 0xfe00, 0xba0ce, "vm"); got != "1795345894.Vfe00Iba0ceM92284.vm" {
		t.Errorf("MaildirName = %s", got)
	}
	if got := SafeHostname("a/b:c"); got != `a\057b\072c` {
		t.Errorf("SafeHostname = %s", got)
	}
}
