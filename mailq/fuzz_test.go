package mailq

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/postern-mta/postern/internal/proto"
)

// Whatever bytes an address or a reason holds, a -j line is one valid JSON
// object that decodes back to the printable form of the input.
func FuzzJSONLine(f *testing.F) {
	for _, s := range []string{"", "alice@example.test", "a\"b\\c", "tab\there\x01", "\xff\xfe", "é<>&", "\u2028"} {
		f.Add(s, s)
	}
	f.Fuzz(func(t *testing.T, addr, reason string) {
		e := &proto.QueueEntry{QueueName: "deferred", QueueID: "ID", Sender: addr,
			Recipients: []proto.QueueRcptRef{{Address: addr, DelayReason: reason}}}
		line := AppendJSON(nil, e)
		if strings.Count(string(line), "\n") != 1 || line[len(line)-1] != '\n' {
			t.Fatalf("not one line: %q", line)
		}
		var got proto.QueueEntry
		if err := json.Unmarshal(line, &got); err != nil {
			t.Fatalf("invalid JSON %q: %v", line, err)
		}
		if want := perByte(addr); got.Sender != want || got.Recipients[0].Address != want {
			t.Fatalf("address %q → %q, want %q", addr, got.Sender, want)
		}
		if want := perByte(reason); got.Recipients[0].DelayReason != want {
			t.Fatalf("reason %q → %q, want %q", reason, got.Recipients[0].DelayReason, want)
		}
	})
}

// perByte is s with each byte that is not part of valid UTF-8 replaced
// by '?'.
func perByte(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n <= 1 {
			b.WriteByte('?')
			i++
			continue
		}
		b.WriteString(s[i : i+n])
		i += n
	}
	return b.String()
}
