package bounce

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// FuzzReport composes reports from arbitrary log text and originals. A
// report must always be written, must end with its closing boundary, and
// nothing from outside may break a line of its own parts (a header
// injected through a reason or an address).
func FuzzReport(f *testing.F) {
	f.Add("rej1@remote.test", "host x said: 550 5.1.1 no", "550 5.1.1 <rej1@remote.test>: no", []byte("Subject: x\n\nbody\n"), false)
	f.Add("j\u00f6rg@b\u00fccher.test", "line\r\nInjected: yes", "", []byte("A: 1\n\tB\n"), true)
	f.Add("", "", "", []byte(""), true)
	f.Add("a\xffb", strings.Repeat("word ", 100), strings.Repeat("x", 200), []byte("no header at all"), false)
	f.Fuzz(func(t *testing.T, rcpt, reason, diag string, orig []byte, headersOnly bool) {
		r := &report{
			kind: kindFailure, hostname: "mx.example.test", to: rcpt, date: now, loc: time.UTC,
			queueID: "ORIGQID", sender: rcpt, envID: reason, arrival: now,
			rcpts:    []rcptStatus{{Addr: rcpt, Orig: reason, ORCPT: diag, Reason: reason, RemoteMTA: diag, DiagType: "smtp", Diag: diag}},
			original: bytes.NewReader(orig), origSize: int64(len(orig)), headersOnly: headersOnly,
		}
		var b bytes.Buffer
		if err := r.writeTo(&b); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		if !strings.HasSuffix(out, "\n--"+r.boundary()+"--\n") {
			t.Fatalf("report does not end with its closing boundary:\n%q", out)
		}
		own, _, ok := strings.Cut(out, "Return-Path: <")
		if !ok {
			t.Fatalf("no Return-Path before the original:\n%q", out)
		}
		for _, c := range []byte(own) {
			if c < ' ' && c != '\n' && c != '\t' {
				t.Fatalf("control character %#x in the report's own text:\n%q", c, own)
			}
		}
		for _, line := range strings.Split(own, "\n") {
			if name, _, ok := strings.Cut(line, ":"); ok && strings.HasPrefix(strings.ToLower(name), "injected") {
				t.Fatalf("injected line %q", line)
			}
		}
		if headersOnly {
			var h bytes.Buffer
			if err := copyHeaders(&h, bytes.NewReader(orig)); err != nil {
				t.Fatal(err)
			}
			if got := strings.TrimSuffix(h.String(), "\n"); !bytes.HasPrefix(orig, []byte(got)) {
				t.Fatalf("copied headers %q are not a prefix of the original", got)
			}
		}
		messageID(bytes.NewReader(orig))
	})
}
