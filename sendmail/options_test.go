package sendmail

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseArgs(t *testing.T) {
	str := func(s string) *string { return &s }
	cases := []struct {
		args  []string
		check func(*options) bool
		err   string // fatal text, or getopt's message
		warn  string
	}{
		{args: []string{"bob"}, check: func(o *options) bool {
			return o.mode == modeEnqueue && o.dotEnd && reflect.DeepEqual(o.recipients, []string{"bob"})
		}},
		{args: []string{"-t"}, check: func(o *options) bool { return o.extract }},
		{args: []string{"-ti", "bob"}, check: func(o *options) bool { return o.extract && !o.dotEnd && o.recipients[0] == "bob" }},
		{args: []string{"-i"}, check: func(o *options) bool { return !o.dotEnd }},
		{args: []string{"-oi"}, check: func(o *options) bool { return !o.dotEnd }},
		{args: []string{"-f", "alice@x.test"}, check: func(o *options) bool { return *o.sender == "alice@x.test" }},
		{args: []string{"-falice@x.test"}, check: func(o *options) bool { return *o.sender == "alice@x.test" }},
		{args: []string{"-r", "<>"}, check: func(o *options) bool { return *o.sender == "<>" }},
		{args: []string{"-F", "Alice Liddell"}, check: func(o *options) bool { return reflect.DeepEqual(o.fullName, str("Alice Liddell")) }},
		{args: []string{"-N", "success,FAILURE"}, check: func(o *options) bool { return o.notify == "SUCCESS,FAILURE" }},
		{args: []string{"-N", "never"}, check: func(o *options) bool { return o.notify == "NEVER" }},
		{args: []string{"-N", "never,delay"}, check: func(o *options) bool { return o.notify == "" }, warn: "bad -N option value -- ignored"},
		{args: []string{"-R", "hdrs"}, check: func(o *options) bool { return o.ret == "HDRS" }},
		{args: []string{"-R", "full"}, check: func(o *options) bool { return o.ret == "FULL" }},
		{args: []string{"-R", "bogus"}, check: func(o *options) bool { return o.ret == "" }, warn: "bad -R option value -- ignored"},
		{args: []string{"-V", "envid-1"}, check: func(o *options) bool { return o.envid == "envid-1" }},
		{args: []string{"-V", strings.Repeat("e", 101)}, check: func(o *options) bool { return o.envid == "" }, warn: "too long -V option value"},
		{args: []string{"-V", "xy\x01"}, check: func(o *options) bool { return o.envid == "" }, warn: "bad syntax in -V"},
		{args: []string{"-V", "+="}, check: func(o *options) bool { return o.verp == "+=" && o.verpAsked }, warn: "deprecated"},
		{args: []string{"-XV"}, check: func(o *options) bool { return o.verp == "" && o.verpAsked }},
		{args: []string{"-XV-="}, check: func(o *options) bool { return o.verp == "-=" }},
		{args: []string{"-X", "/tmp/log"}, check: func(o *options) bool { return !o.verpAsked }},
		{args: []string{"-B", "8BITMIME"}, check: func(o *options) bool { return o.encoding == "8bit" }},
		{args: []string{"-B", "7BIT"}, check: func(o *options) bool { return o.encoding == "7bit" }},
		{args: []string{"-B", "9BIT"}, err: "-B option needs 8BITMIME or 7BIT"},
		{args: []string{"-G"}, check: func(o *options) bool { return o.rwContext == "remote" }},
		{args: []string{"-C", "/etc/other"}, check: func(o *options) bool { return o.configDir == "/etc/other" }},
		{args: []string{"-bm"}, check: func(o *options) bool { return o.mode == modeEnqueue }},
		{args: []string{"-bp"}, check: func(o *options) bool { return o.mode == modeMailq }},
		{args: []string{"-bs"}, check: func(o *options) bool { return o.mode == modeUser }},
		{args: []string{"-bi"}, check: func(o *options) bool { return o.mode == modeNewalias }},
		{args: []string{"-I"}, check: func(o *options) bool { return o.mode == modeNewalias }},
		{args: []string{"-bd"}, check: func(o *options) bool { return o.mode == modeDaemon }},
		{args: []string{"-bl"}, check: func(o *options) bool { return o.mode == modeDaemon }},
		{args: []string{"-bh"}, check: func(o *options) bool { return o.mode == modeIgnore }},
		{args: []string{"-bH"}, check: func(o *options) bool { return o.mode == modeIgnore }},
		{args: []string{"-bv", "bob"}, check: func(o *options) bool { return o.verify && o.mode == modeEnqueue }},
		{args: []string{"-bx"}, err: "unsupported: -bx"},
		{args: []string{"-q"}, check: func(o *options) bool { return o.mode == modeFlush }},
		{args: []string{"-q30m"}, check: func(o *options) bool { return o.qtime == "30m" }},
		{args: []string{"-qRexample.test"}, check: func(o *options) bool { return o.site == "example.test" }},
		{args: []string{"-qIABC"}, check: func(o *options) bool { return o.id == "ABC" }},
		{args: []string{"-qR"}, err: "specify: -qRsitename"},
		{args: []string{"-qSx"}, err: "-qS is not implemented"},
		{args: []string{"-oAhash:/etc/aliases"}, check: func(o *options) bool { return o.aliasDB == "hash:/etc/aliases" }},
		{args: []string{"-oA"}, err: "-oA requires pathname"},
		{args: []string{"-v", "bob"}, check: func(o *options) bool { return o.verbose == 1 && o.trace() }},
		{args: []string{"-v", "-v", "bob"}, check: func(o *options) bool { return o.verbose == 2 && !o.trace() }},
		// Ignored, as Postfix ignores them.
		{args: []string{"-Am", "-Ac", "-h", "5", "-L", "x", "-m", "-n", "-o7", "-o8", "-om", "-O", "o=v", "-U", "-c", "-x", "-e", "m", "-p", "smtp", "bob"},
			check: func(o *options) bool {
				return o.mode == modeEnqueue && reflect.DeepEqual(o.recipients, []string{"bob"})
			}},
		{args: []string{"--", "-notanoption"}, check: func(o *options) bool { return o.recipients[0] == "-notanoption" }},
		{args: []string{"bob", "-t"}, check: func(o *options) bool {
			return !o.extract && reflect.DeepEqual(o.recipients, []string{"bob", "-t"})
		}},
		{args: []string{"-Z"}, err: "invalid option -- 'Z'"},
		{args: []string{"-f"}, err: "option requires an argument -- 'f'"},
	}
	for _, tc := range cases {
		o, err := parseArgs(tc.args)
		if tc.err != "" {
			if err == nil || err.Error() != tc.err {
				t.Errorf("%q: err %v, want %q", tc.args, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tc.args, err)
			continue
		}
		if !tc.check(o) {
			t.Errorf("%q: wrong result %+v", tc.args, o)
		}
		if tc.warn != "" && !strings.Contains(strings.Join(o.warnings, "\n"), tc.warn) {
			t.Errorf("%q: warnings %q lack %q", tc.args, o.warnings, tc.warn)
		}
	}
	var ue *usageError
	if _, err := parseArgs([]string{"-Z"}); !errors.As(err, &ue) {
		t.Errorf("-Z is not a usage error: %v", err)
	}
}

func TestOptionConflicts(t *testing.T) {
	for _, tc := range []struct {
		args []string
		err  string
	}{
		{[]string{"-t", "-bp"}, "-t can be used only in delivery mode"},
		{[]string{"-qRx", "-bp"}, "-qR can be used only in delivery mode"},
		{[]string{"-qIx", "-bs"}, "-qI can be used only in delivery mode"},
		{[]string{"-bv", "-t"}, "-t option cannot be used with -bv"},
		{[]string{"-bv", "-N", "success"}, "-N option cannot be used with -bv"},
		{[]string{"-bv", "-R", "full"}, "-R option cannot be used with -bv"},
		{[]string{"-bv", "-v"}, "-v option cannot be used with -bv"},
		{[]string{"-bv", "-v", "-v"}, ""},
	} {
		o, err := parseArgs(tc.args)
		if err != nil {
			t.Fatal(err)
		}
		err = o.check()
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tc.err {
			t.Errorf("%q: %q, want %q", tc.args, got, tc.err)
		}
	}
}

func TestAddresses(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"bob", []string{"bob"}},
		{"bob, carol@x.test", []string{"bob", "carol@x.test"}},
		{"Bob Smith <bob@x.test>", []string{"bob@x.test"}},
		{`"Smith, B" <b@x.test>, (c) c@x.test`, []string{"b@x.test", "c@x.test"}},
		{"team: a@x.test, b;", []string{"a@x.test", "b"}},
		{"undisclosed-recipients:;", nil},
		{"<>", []string{""}},
		{"", nil},
	} {
		if got := addresses(tc.in, 100); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("addresses(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestInputCopy(t *testing.T) {
	cfg := &Config{MessageSizeLimit: 1000, HeaderSizeLimit: 1000, FixLineEndings: "always"}
	cases := []struct {
		name     string
		in       string
		dotEnd   bool
		extract  bool
		fix      string
		want     string
		rcpts    int
		tooBig   bool
		sizeLeft int64
	}{
		{name: "dot ends", in: "Subject: x\n\nbody\n.\nafter\n", dotEnd: true, want: "Subject: x\n\nbody\n"},
		{name: "dot kept with -i", in: "Subject: x\n\nbody\n.\nafter\n", want: "Subject: x\n\nbody\n.\nafter\n"},
		{name: "dotdot is data", in: "a\n..\n", dotEnd: true, want: "a\n..\n"},
		{name: "From_ lines skipped", in: "From alice Sun Nov 22\n>From x\nSubject: y\n\nFrom the body\n", want: "Subject: y\n\nFrom the body\n"},
		{name: "CRLF fixed", in: "Subject: x\r\n\r\nbody\r\n.\r\n", dotEnd: true, want: "Subject: x\n\nbody\n"},
		{name: "CRLF kept", in: "Subject: x\r\n\r\nbody\r\n", fix: "never", want: "Subject: x\r\n\r\nbody\r\n"},
		{name: "strict, first line LF", in: "Subject: x\n\nbody\r\n", fix: "strict", want: "Subject: x\n\nbody\r\n"},
		{name: "strict, first line CRLF", in: "Subject: x\r\n\nbody\r\n", fix: "strict", want: "Subject: x\n\nbody\n"},
		{name: "final line end added", in: "Subject: x\n\nno newline", want: "Subject: x\n\nno newline\n"},
		{name: "-t counts", in: "To: a, b\nCc: team: c;\nBcc:\n d\nSubject: x\n\nTo: not@header.test\n", extract: true,
			want: "To: a, b\nCc: team: c;\nBcc:\n d\nSubject: x\n\nTo: not@header.test\n", rcpts: 4},
		{name: "-t resent wins", in: "Resent-To: r\nTo: a, b\n\n", extract: true, want: "Resent-To: r\nTo: a, b\n\n", rcpts: 1},
		{name: "-t none", in: "Subject: x\n\nbody\n", extract: true, want: "Subject: x\n\nbody\n", rcpts: 0},
		{name: "too big", in: strings.Repeat("x", 2000), tooBig: true},
	}
	for _, tc := range cases {
		c := *cfg
		if tc.fix != "" {
			c.FixLineEndings = tc.fix
		}
		in := newInput(strings.NewReader(tc.in), &c, tc.dotEnd, tc.extract)
		var b strings.Builder
		err := in.copy(&b)
		if tc.tooBig {
			if !errors.Is(err, errTooBig) {
				t.Errorf("%s: err %v", tc.name, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if b.String() != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, b.String(), tc.want)
		}
		if tc.extract && in.headerRcpts() != tc.rcpts {
			t.Errorf("%s: %d header recipients, want %d", tc.name, in.headerRcpts(), tc.rcpts)
		}
	}
}
