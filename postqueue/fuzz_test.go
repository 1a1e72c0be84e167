package postqueue

import (
	"strings"
	"testing"
)

// Whatever the command line, parsing ends in options or a usage error,
// never a panic, and a mode is always chosen on success.
func FuzzParseArgs(f *testing.F) {
	for _, s := range []string{"-p", "-vp", "-c\x00/etc/x\x00-j", "-s\x00example.test", "-i", "--\x00-p", "-pf", "-", "-c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		o, err := parseArgs(strings.Split(s, "\x00"))
		if err == nil && o.mode == modeNone {
			t.Fatalf("%q: no mode and no error", s)
		}
		if err != nil {
			if fe, ok := err.(*fatalError); !ok || fe.status != exUsage {
				t.Fatalf("%q: error %v", s, err)
			}
		}
	})
}
