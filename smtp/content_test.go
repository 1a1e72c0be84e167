package smtp

import (
	"bufio"
	"bytes"
	"strings"
	"testing"

	"github.com/postern-mta/postern/internal/mtatest"
	"github.com/postern-mta/postern/internal/proto"
)

// What the queue holds (LF) and what a receiving server must end up with
// (CRLF, dots un-stuffed by the server).
var contentCases = []struct {
	name    string
	content string
	want    string
}{
	{"plain", "Subject: x\n\nbody\n", "Subject: x\r\n\r\nbody\r\n"},
	{"dots", "Subject: x\n\n.\n..\n.leading\nmiddle.\n. \n", "Subject: x\r\n\r\n.\r\n..\r\n.leading\r\nmiddle.\r\n. \r\n"},
	{"8bit", "Subject: caf\xc3\xa9\n\n\xff\xfe\x80 bytes \xe2\x82\xac\n", "Subject: caf\xc3\xa9\r\n\r\n\xff\xfe\x80 bytes \xe2\x82\xac\r\n"},
	{"long line", "Subject: x\n\n" + strings.Repeat("y", 998) + "\n", "Subject: x\r\n\r\n" + strings.Repeat("y", 998) + "\r\n"},
	{"no final newline", "Subject: x\n\nlast line", "Subject: x\r\n\r\nlast line\r\n"},
	{"final dot line without newline", "Subject: x\n\n.", "Subject: x\r\n\r\n.\r\n"},
	{"empty lines", "Subject: x\n\n\n\n", "Subject: x\r\n\r\n\r\n\r\n"},
}

func TestContentByteExact(t *testing.T) {
	sink := mtatest.NewSink(t)
	ta := startAgent(t, testConfig(t))
	for _, tc := range contentCases {
		t.Run(tc.name, func(t *testing.T) {
			before := sink.Count()
			reply, _ := ta.send(t, "[127.0.0.1]:"+port(sink.Addr), tc.content, "bob@remote.test")
			if r := reply.Results[0]; r.Action != proto.ActionRelayed {
				t.Fatalf("result = %+v", r)
			}
			msgs := sink.Messages()
			if len(msgs) != before+1 {
				t.Fatalf("sink has %d messages, want %d", len(msgs), before+1)
			}
			if got := string(msgs[before].Data); got != tc.want {
				t.Errorf("sink data\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestLongLineFolding(t *testing.T) {
	sink := mtatest.NewSink(t)
	ta := startAgent(t, testConfig(t))
	line := strings.Repeat("a", 998) + strings.Repeat("b", 997) + "cc"
	reply, _ := ta.send(t, "[127.0.0.1]:"+port(sink.Addr), "Subject: x\n\n"+line+"\n", "bob@remote.test")
	if r := reply.Results[0]; r.Action != proto.ActionRelayed {
		t.Fatalf("result = %+v", r)
	}
	want := "Subject: x\r\n\r\n" + strings.Repeat("a", 998) + "\r\n " + strings.Repeat("b", 997) + "\r\n cc\r\n"
	if got := string(sink.Messages()[0].Data); got != want {
		t.Errorf("sink data\n got %q\nwant %q", got, want)
	}
}

// The wire form itself, line limits included.
func TestBodyWriter(t *testing.T) {
	for _, tc := range []struct {
		name   string
		limit  int
		chunks []string
		want   string
	}{
		{"empty", 0, nil, ".\r\n"},
		{"one line", 0, []string{"a\n"}, "a\r\n.\r\n"},
		{"dot", 0, []string{".\n"}, "..\r\n.\r\n"},
		{"dot across chunks", 0, []string{"a\n", ".b\n"}, "a\r\n..b\r\n.\r\n"},
		{"newline across chunks", 0, []string{"a", "\n.", "x"}, "a\r\n..x\r\n.\r\n"},
		{"crlf kept", 0, []string{"a\r\nb\n"}, "a\r\nb\r\n.\r\n"},
		{"cr split from lf", 0, []string{"a\r", "\nb"}, "a\r\nb\r\n.\r\n"},
		{"bare cr", 0, []string{"a\rb\n"}, "a\rb\r\n.\r\n"},
		{"exactly the limit", 4, []string{"abcd\n"}, "abcd\r\n.\r\n"},
		{"over the limit", 4, []string{"abcdefghij\n"}, "abcd\r\n efg\r\n hij\r\n.\r\n"},
		{"over the limit across chunks", 4, []string{"ab", "cd", "e\n"}, "abcd\r\n e\r\n.\r\n"},
		{"no limit", 0, []string{strings.Repeat("z", 5000) + "\n"}, strings.Repeat("z", 5000) + "\r\n.\r\n"},
		{"dot after fold is not stuffed", 4, []string{"abcd.ef\n"}, "abcd\r\n .ef\r\n.\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			w := bufio.NewWriter(&out)
			bw := newBodyWriter(w, tc.limit)
			for _, c := range tc.chunks {
				if _, err := bw.Write([]byte(c)); err != nil {
					t.Fatal(err)
				}
			}
			if err := bw.finish(); err != nil {
				t.Fatal(err)
			}
			w.Flush()
			if got := out.String(); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}
