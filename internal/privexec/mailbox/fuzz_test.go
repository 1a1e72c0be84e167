package mailbox

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzDeliveredTo reads header sections from outside: it must never fail
// or panic, and never report an address from beyond the headers.
func FuzzDeliveredTo(f *testing.F) {
	f.Add([]byte("Delivered-To: a@b\n\nDelivered-To: c@d\n"))
	f.Add([]byte("delivered-to:\n\tx@y\nX: y\r\n\r\n"))
	f.Add([]byte(":\n \n\t\n"))
	f.Fuzz(func(t *testing.T, msg []byte) {
		got, err := DeliveredTo(bytes.NewReader(msg), 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		head := msg
		if i := bytes.Index(msg, []byte("\n\n")); i >= 0 {
			head = msg[:i+1]
		}
		// Folded headers are read unfolded.
		unfolded := bytes.ReplaceAll(head, []byte("\r\n"), []byte("\n"))
		unfolded = bytes.ReplaceAll(bytes.ReplaceAll(unfolded, []byte("\n "), []byte(" ")), []byte("\n\t"), []byte("\t"))
		for a := range got {
			if !bytes.Contains(bytes.ToLower(unfolded), []byte(a)) {
				t.Errorf("%q reported, not in the headers %q", a, head)
			}
		}
	})
}

// FuzzCopy compares mbox quoting and dot-stuffing with a plain
// line-by-line model of them.
func FuzzCopy(f *testing.F) {
	f.Add([]byte("From x\n.y\nz"))
	f.Add([]byte("\n\n.\nFrom \nFrom"))
	f.Add([]byte(">From x\n\r\n"))
	f.Add([]byte(strings.Repeat("a", 70000) + "\nFrom b\n"))
	f.Fuzz(func(t *testing.T, msg []byte) {
		var out bytes.Buffer
		if _, err := Copy(&out, bytes.NewReader(msg), CopyOptions{QuoteFrom: true, DotStuff: true, EOL: "\r\n"}); err != nil {
			t.Fatal(err)
		}
		var want strings.Builder
		for _, l := range strings.SplitAfter(string(msg), "\n") {
			if l == "" {
				continue
			}
			switch {
			case strings.HasPrefix(l, "From "):
				want.WriteString(">")
			case strings.HasPrefix(l, "."):
				want.WriteString(".")
			}
			want.WriteString(strings.TrimSuffix(l, "\n") + "\r\n")
		}
		if out.String() != want.String() {
			t.Errorf("Copy(%q) = %q, want %q", msg, out.String(), want.String())
		}
	})
}
