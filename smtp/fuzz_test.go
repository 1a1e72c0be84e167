package smtp

import (
	"bufio"
	"bytes"
	"strings"
	"testing"
)

// Server replies are outside input: any bytes give a reply or an error,
// never a panic, and a reply keeps its promises.
func FuzzReadReply(f *testing.F) {
	for _, s := range []string{
		"250 ok\r\n",
		"250-mx.example.test\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250 8BITMIME\r\n",
		"550-5.1.1 a\r\n550 5.1.1 b\r\n",
		"220\r\n",
		"abc\r\n",
		"250-",
		"354 \xff\x00\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		r, err := readReply(bufio.NewReaderSize(bytes.NewReader(in), 16))
		if err != nil {
			return
		}
		if r.code < 200 || r.code > 599 || len(r.lines) == 0 || len(r.lines) > maxReplyLines {
			t.Fatalf("bad reply %+v from %q", r, in)
		}
		if r.enh == "" || r.enh[0] != byte('0'+r.code/100) {
			t.Fatalf("enhanced code %q for reply code %d", r.enh, r.code)
		}
		if strings.ContainsAny(r.text, "\r\n\x00") || strings.ContainsAny(r.message(), "\r\n\x00") {
			t.Fatalf("control characters in reply text %q", r.text)
		}
	})
}

// The body writer must turn any content into valid DATA text that a
// server turns back into the content.
func FuzzBodyWriter(f *testing.F) {
	for _, s := range []string{"", "a\n", ".\n", "..x\n.\n", "no newline", "\r\n.\r\n", strings.Repeat("x", 3000) + "\n"} {
		f.Add([]byte(s), uint16(0), uint8(7))
		f.Add([]byte(s), uint16(5), uint8(1))
	}
	f.Fuzz(func(t *testing.T, in []byte, limit uint16, chunk uint8) {
		var out bytes.Buffer
		w := bufio.NewWriter(&out)
		bw := newBodyWriter(w, int(limit%2000))
		step := int(chunk) + 1
		for p := in; len(p) > 0; {
			n := min(step, len(p))
			if _, err := bw.Write(p[:n]); err != nil {
				t.Fatal(err)
			}
			p = p[n:]
		}
		if err := bw.finish(); err != nil {
			t.Fatal(err)
		}
		w.Flush()
		wire := out.String()
		if !strings.HasSuffix(wire, ".\r\n") {
			t.Fatalf("no final dot: %q", wire)
		}
		body := strings.TrimSuffix(wire, ".\r\n")
		if body != "" && !strings.HasSuffix(body, "\r\n") {
			t.Fatalf("final dot not on its own line: %q", wire)
		}
		lines := strings.Split(strings.TrimSuffix(body, "\r\n"), "\r\n")
		if body == "" {
			lines = nil
		}
		var back []string
		for _, l := range lines {
			if strings.Contains(l, "\n") {
				t.Fatalf("bare LF in %q", l)
			}
			if strings.HasPrefix(l, ".") && !strings.HasPrefix(l, "..") {
				t.Fatalf("unstuffed dot line %q", l)
			}
			if lim := lineLimit(int(limit % 2000)); lim > 0 && len(strings.TrimPrefix(l, ".")) > lim {
				t.Fatalf("line of %d bytes over the limit %d", len(l), lim)
			}
			back = append(back, strings.TrimPrefix(l, "."))
		}
		if limit%2000 != 0 || bytes.IndexByte(in, '\r') >= 0 {
			return
		}
		want := string(in)
		if want != "" && !strings.HasSuffix(want, "\n") {
			want += "\n"
		}
		got := strings.Join(back, "\n")
		if len(back) > 0 {
			got += "\n"
		}
		if got != want {
			t.Fatalf("round trip: got %q, want %q", got, want)
		}
	})
}

// Next hops come from transport tables and relayhost: never a panic.
func FuzzParseNexthops(f *testing.F) {
	for _, s := range []string{"example.com", "[mx.example.com]:25", "[ipv6:2001:db8::1]", "inet:h:24", "unix:private/x", "a, b c", "bücher.example", "[", "]:", "host:port:x"} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, s string, lmtp bool) {
		ds, err := parseNexthops(s, lmtp, "/q")
		if err != nil {
			return
		}
		for _, d := range ds {
			if d.unix == "" && d.host == "" {
				t.Fatalf("%q: destination without host: %+v", s, d)
			}
			if d.port < 0 || d.port > 65535 {
				t.Fatalf("%q: port %d", s, d.port)
			}
		}
	})
}
