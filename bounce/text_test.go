package bounce

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestWrap(t *testing.T) {
	long := strings.Repeat("x", 90)
	tests := []struct{ in, want string }{
		{"short", "short\n"},
		{strings.Repeat("a ", 39) + "b", strings.Repeat("a ", 39) + "b\n"}, // exactly 79
		{strings.Repeat("a ", 40), strings.TrimSpace(strings.Repeat("a ", 40)) + "\n"},
		{"head " + long + " tail", "head\n    " + long + "\n    tail\n"},
		{long, long + "\n"},
		{"a  b", "a  b\n"},
		// COMPAT.md §9, as Postfix wraps it.
		{"<rej1@remote.test>: host 127.0.0.1[127.0.0.1] said: 550 5.1.1 <rej1@remote.test>: Recipient address rejected: User unknown (in reply to RCPT TO command)",
			"<rej1@remote.test>: host 127.0.0.1[127.0.0.1] said: 550 5.1.1\n    <rej1@remote.test>: Recipient address rejected: User unknown (in reply to\n    RCPT TO command)\n"},
	}
	for _, tt := range tests {
		var b strings.Builder
		wrap(&b, tt.in)
		if b.String() != tt.want {
			t.Errorf("wrap(%q) =\n%q\nwant\n%q", tt.in, b.String(), tt.want)
		}
		for _, line := range strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n") {
			if len(line) > wrapWidth && strings.Contains(strings.TrimSpace(line), " ") {
				t.Errorf("wrap(%q): line of %d bytes has a space to break at: %q", tt.in, len(line), line)
			}
		}
	}
}

func TestClean(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain text", "plain text"},
		{"two\r\nlines", "two  lines"},
		{"tab\there", "tab here"},
		{"del\x7f", "del?"},
		{"caf\xc3\xa9", "caf\xc3\xa9"},
		{"bad \xff byte", "bad ? byte"},
	}
	for _, tt := range tests {
		if got := clean(tt.in); got != tt.want {
			t.Errorf("clean(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestMailDate(t *testing.T) {
	loc := time.FixedZone("CET", 3600)
	tests := []struct {
		t    time.Time
		loc  *time.Location
		want string
	}{
		{time.Date(2026, 11, 22, 11, 7, 51, 0, time.UTC), time.UTC, "Sun, 22 Nov 2026 11:07:51 +0000 (UTC)"},
		{time.Date(2026, 11, 2, 11, 7, 51, 0, time.UTC), loc, "Mon,  2 Nov 2026 12:07:51 +0100 (CET)"},
	}
	for _, tt := range tests {
		if got := mailDate(tt.t, tt.loc); got != tt.want {
			t.Errorf("mailDate(%v) = %q, want %q", tt.t, got, tt.want)
		}
	}
}

func TestHumanDuration(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{30 * time.Second, "30 seconds"},
		{time.Second, "1 second"},
		{90 * time.Second, "1 minute"},
		{5 * time.Minute, "5 minutes"},
		{4*time.Hour + 10*time.Minute, "4 hours"},
		{90 * time.Minute, "90 minutes"},
		{5 * 24 * time.Hour, "5 days"},
	}
	for _, tt := range tests {
		if got := humanDuration(tt.d); got != tt.want {
			t.Errorf("humanDuration(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

func TestDecodeXtext(t *testing.T) {
	tests := []struct{ in, want string }{
		{"rfc822;bob@x.test", "rfc822;bob@x.test"},
		{"rfc822;bob+2Bext@x.test", "rfc822;bob+ext@x.test"},
		{"rfc822;a+3Db", "rfc822;a=b"},
		{"rfc822;bad+zz", "rfc822;bad+zz"},
		{"rfc822;end+2", "rfc822;end+2"},
	}
	for _, tt := range tests {
		if got := decodeXtext(tt.in); got != tt.want {
			t.Errorf("decodeXtext(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestWants(t *testing.T) {
	tests := []struct {
		notify, what string
		want         bool
	}{
		{"", "FAILURE", true},
		{"", "DELAY", true},
		{"", "SUCCESS", false},
		{"NEVER", "FAILURE", false},
		{"SUCCESS,DELAY", "FAILURE", false},
		{"success, failure", "FAILURE", true},
	}
	for _, tt := range tests {
		if got := wants(tt.notify, tt.what); got != tt.want {
			t.Errorf("wants(%q, %q) = %v", tt.notify, tt.what, got)
		}
	}
}

func TestCopyHeaders(t *testing.T) {
	long := "X-Long: " + strings.Repeat("y", 20000) + "\n"
	tests := []struct{ name, in, want string }{
		{"body cut", "A: 1\nB: 2\n\tmore\n\nbody\n", "A: 1\nB: 2\n\tmore\n"},
		{"no body", "A: 1\nB: 2", "A: 1\nB: 2\n"},
		{"not a header", "A: 1\nnot a header line\nC: 3\n", "A: 1\n"},
		{"long line", long + "Z: z\n\nbody\n", long + "Z: z\n"},
		{"empty", "", ""},
		{"starts with body", "\nbody\n", ""},
	}
	for _, tt := range tests {
		var b bytes.Buffer
		if err := copyHeaders(&b, strings.NewReader(tt.in)); err != nil {
			t.Fatal(err)
		}
		if b.String() != tt.want {
			t.Errorf("%s: copyHeaders = %.80q, want %.80q", tt.name, b.String(), tt.want)
		}
	}
}

func TestMessageID(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Subject: x\nMessage-Id: <a@b>\n\n", "<a@b>"},
		{"MESSAGE-ID:\n <folded@b>\nX: y\n\n", "<folded@b>"},
		{"Message-Id: not-bracketed\n\n", ""},
		{"Subject: x\n\nMessage-Id: <in@body>\n", ""},
		{"Message-ID: <last@line>", "<last@line>"},
		{"X-Long: " + strings.Repeat("z", 9000) + "\nMessage-Id: <after@long>\n\n", "<after@long>"},
	}
	for _, tt := range tests {
		if got := messageID(strings.NewReader(tt.in)); got != tt.want {
			t.Errorf("messageID(%.40q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
