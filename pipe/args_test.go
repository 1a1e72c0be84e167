package pipe

import (
	"strings"
	"testing"

	"github.com/postern-mta/postern/internal/proto"
)

func TestParseArgs(t *testing.T) {
	a, err := ParseArgs([]string{"flags=DRXhu.>", "user=vmail:mail", "size=1000", `eol=\r\n`, "directory=/tmp",
		"null_sender=", "argv=/usr/bin/maildrop", "-d", "${user}@${nexthop}", "x=y"})
	if err != nil {
		t.Fatal(err)
	}
	f := a.Flags
	if !f.DeliveredTo || !f.ReturnPath || !f.Final || !f.LowerDomain || !f.LowerLocal || !f.DotStuff || !f.QuoteFrom || f.FromLine || f.BlankLine || f.Quote || f.OrigRcpt {
		t.Errorf("flags %+v", f)
	}
	if a.User != "vmail" || a.Group != "mail" || a.Size != 1000 || a.EOL != "\r\n" || a.Directory != "/tmp" || a.NullSender != "" {
		t.Errorf("args %+v", a)
	}
	if strings.Join(a.Argv, "|") != "/usr/bin/maildrop|-d|${user}@${nexthop}|x=y" {
		t.Errorf("argv %q", a.Argv)
	}
	for _, tc := range []struct {
		args []string
		err  string
	}{
		{[]string{"user=x"}, "missing argv="},
		{[]string{"argv=/bin/true"}, "missing user="},
		{[]string{"flags=Z", "user=x", "argv=/bin/true"}, `unknown flag 'Z'`},
		{[]string{"user=x", "chroot=/x", "argv=/bin/true"}, "chroot= is not supported"},
		{[]string{"user=x", "size=big", "argv=/bin/true"}, "size=big"},
		{[]string{"user=x", "bogus", "argv=/bin/true"}, "expected name=value"},
		{[]string{"user=x", "argv=/bin/true", "${nosuch}"}, "unknown macro $nosuch"},
		{[]string{"user=x", "argv=/bin/true", "${recipient"}, `missing '}'`},
		{[]string{"user=x", "argv=/bin/true", "$"}, "'$' at the end"},
	} {
		_, err := ParseArgs(tc.args)
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("ParseArgs(%q) = %v, want an error with %q", tc.args, err, tc.err)
		}
	}
}

func TestUnescape(t *testing.T) {
	for in, want := range map[string]string{`\n`: "\n", `\r\n`: "\r\n", `\015\012`: "\r\n", `x\\y`: `x\y`, `\q`: `\q`} {
		got, err := unescape(in)
		if err != nil || got != want {
			t.Errorf("unescape(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := unescape(`\777`); err == nil {
		t.Error("octal escape out of range accepted")
	}
}

// TestMacrosAsPostfix repeats what Postfix 3.7 gave for flags=FRDO and
// every macro (COMPAT.md §10).
func TestMacrosAsPostfix(t *testing.T) {
	a, err := ParseArgs([]string{"flags=FRDO", "user=x", "argv=/bin/echo", "${sender}", "${recipient}", "${user}", "${extension}",
		"${domain}", "${nexthop}", "${size}", "${queue_id}", "${original_recipient}", "${mailbox}", "${client_address}",
		"${client_helo}", "${client_hostname}"})
	if err != nil {
		t.Fatal(err)
	}
	req := &proto.DeliverRequest{QueueID: "8D90E98446E", Sender: "alice@mx.example.test", Nexthop: "piped.test",
		Attrs: []proto.Attr{{Name: "client_address", Value: "127.0.0.1"}, {Name: "helo_name", Value: "client.example.test"}, {Name: "client_name", Value: "localhost"}}}
	x := a.macros(req, []proto.DeliverRcpt{{Addr: "x@piped.test", Orig: "x@piped.test"}}, "+", 296)
	argv, err := x.expandArgv(a.Argv)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"/bin/echo", "alice@mx.example.test", "x@piped.test", "x", "", "piped.test", "piped.test", "296",
		"8D90E98446E", "x@piped.test", "x", "127.0.0.1", "client.example.test", "localhost"}
	if strings.Join(argv, "|") != strings.Join(want, "|") {
		t.Errorf("argv\n%q\nwant\n%q", argv, want)
	}
}

func TestMacroExpansion(t *testing.T) {
	rcpts := []proto.DeliverRcpt{{Addr: "Bob+Lists@Example.TEST"}, {Addr: `"odd guy"@example.test`, Orig: "orig@example.test"}}
	req := &proto.DeliverRequest{QueueID: "Q1", Sender: "", Nexthop: "Example.TEST"}
	for _, tc := range []struct {
		flags string
		argv  []string
		want  []string
	}{
		{"", []string{"cmd", "-f", "${sender}", "--", "${recipient}"}, []string{"cmd", "-f", "MAILER-DAEMON", "--", "Bob+Lists@Example.TEST", "odd guy@example.test"}},
		{"q", []string{"${recipient}"}, []string{"Bob+Lists@Example.TEST", `"odd guy"@example.test`}},
		{"hu", []string{"-d", "$user", "$(extension)", "${domain}", "${nexthop}"}, []string{"-d", "bob", "odd guy", "lists", "", "example.test", "example.test", "example.test"}},
		{"", []string{"-x${user}-$$", "${extension?+${extension}}", "${extension:none}"}, []string{"-xBob-$", "-xodd guy-$", "+Lists", "", "", "none"}},
		{"", []string{"${original_recipient}", "${queue_id}"}, []string{"Bob+Lists@Example.TEST", "orig@example.test", "Q1"}},
	} {
		a := &Args{NullSender: "MAILER-DAEMON", Argv: tc.argv}
		a.Flags, _ = parseFlags(tc.flags)
		got, err := a.macros(req, rcpts, "+", 10).expandArgv(tc.argv)
		if err != nil || strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("flags=%s %q: got %q (%v), want %q", tc.flags, tc.argv, got, err, tc.want)
		}
	}
}
