package pipe

import (
	"testing"

	"github.com/postern-mta/postern/internal/proto"
)

// FuzzParseArg feeds argument strings to the macro parser and expander:
// they must never panic, and a valid argument must expand for any number
// of recipients.
func FuzzParseArg(f *testing.F) {
	f.Add("${recipient}")
	f.Add("$$x$(user)${domain?@${domain}}${extension:none}")
	f.Add("${{}}")
	f.Fuzz(func(t *testing.T, arg string) {
		if err := checkMacros(arg); err != nil {
			return
		}
		a := &Args{NullSender: "MAILER-DAEMON", Argv: []string{arg}}
		req := &proto.DeliverRequest{QueueID: "Q", Sender: "s@x", Nexthop: "x"}
		for _, n := range []int{0, 1, 3} {
			rcpts := make([]proto.DeliverRcpt, n)
			for i := range rcpts {
				rcpts[i] = proto.DeliverRcpt{Addr: "u+e@x"}
			}
			if _, err := a.macros(req, rcpts, "+", 1).expandArgv(a.Argv); err != nil {
				t.Fatalf("%q: checked but does not expand: %v", arg, err)
			}
		}
	})
}
