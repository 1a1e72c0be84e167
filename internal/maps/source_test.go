package maps

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func parseAll(t *testing.T, src string, utf8 bool) ([]Entry, []string, error) {
	t.Helper()
	var (
		got   []Entry
		warns []string
	)
	opt := SourceOptions{File: "F", CheckUTF8: utf8, Warn: func(m string) { warns = append(warns, m) }}
	err := ParseSource(strings.NewReader(src), opt, func(e Entry) error {
		got = append(got, e)
		return nil
	})
	return got, warns, err
}

func TestParseSource(t *testing.T) {
	tests := []struct {
		name  string
		src   string
		want  []Entry
		warns []string
	}{
		{
			name: "basic",
			src:  "a 1\nb\t2\n",
			want: []Entry{{"a", "1", 1}, {"b", "2", 2}},
		},
		{
			name: "comments and blank lines",
			src:  "# comment\n\n   \n  # indented comment\na 1\n",
			want: []Entry{{"a", "1", 5}},
		},
		{
			name: "continuation keeps whitespace",
			src:  "key first part\n  continued part\n",
			want: []Entry{{"key", "first part  continued part", 1}},
		},
		{
			name: "comment inside continuation",
			src:  "key one\n# note\n\ttwo\nnext x\n",
			want: []Entry{{"key", "one\ttwo", 1}, {"next", "x", 4}},
		},
		{
			name: "value trimmed",
			src:  "key    spaced value   \t\n",
			want: []Entry{{"key", "spaced value", 1}},
		},
		{
			name: "quoted key keeps quotes",
			src:  "\"aa bb\" cc\n\"gg\\\"hh\" ii\ngg\\ hh ii\n",
			want: []Entry{{`"aa bb"`, "cc", 1}, {`"gg\"hh"`, "ii", 2}, {`gg\ hh`, "ii", 3}},
		},
		{
			name:  "missing value",
			src:   "a 1\nlonely\nb 2\n",
			want:  []Entry{{"a", "1", 1}, {"b", "2", 3}},
			warns: []string{"F, line 2: expected format: key whitespace value"},
		},
		{
			name:  "unbalanced quote",
			src:   "\"dd ee ff\n",
			warns: []string{`F, line 1: unbalanced '"' in '"dd ee ff' -- ignoring this line`},
		},
		{
			name:  "alias format",
			src:   "root: admin\n",
			want:  []Entry{{"root:", "admin", 1}},
			warns: []string{`F, line 1: record is in "key: value" format; is this an alias file?`},
		},
		{
			name:  "leading continuation",
			src:   "  orphan x\na 1\n",
			want:  []Entry{{"a", "1", 2}},
			warns: []string{`F, line 1: logical line must not start with whitespace: "  orphan x"`},
		},
		{
			name: "crlf",
			src:  "a 1\r\nb 2\r\n",
			want: []Entry{{"a", "1", 1}, {"b", "2", 2}},
		},
		{
			name:  "non utf-8",
			src:   "a \xff\nb 2\n",
			want:  []Entry{{"b", "2", 2}},
			warns: []string{`F, line 1: non-UTF-8 input "a \xff" -- ignoring this line`},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, warns, err := parseAll(t, tc.src, true)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("entries:\n got %+v\nwant %+v", got, tc.want)
			}
			if !reflect.DeepEqual(warns, tc.warns) {
				t.Errorf("warnings:\n got %q\nwant %q", warns, tc.warns)
			}
		})
	}
}

func TestParseSourceLimits(t *testing.T) {
	long := "k " + strings.Repeat("x", MaxLineLength) + "\n"
	_, _, err := parseAll(t, "a 1\n"+long, false)
	if err == nil || !strings.Contains(err.Error(), "F, line 2: line too long") {
		t.Errorf("long line: err = %v", err)
	}
	// Continuations that add up past the limit.
	var b strings.Builder
	b.WriteString("k v\n")
	for b.Len() <= MaxLineLength+100 {
		b.WriteString(" " + strings.Repeat("y", 1000) + "\n")
	}
	_, _, err = parseAll(t, b.String(), false)
	if err == nil || !strings.Contains(err.Error(), "F, line 1: logical line too long") {
		t.Errorf("long logical line: err = %v", err)
	}
}

func TestParseSourceStopsOnCallbackError(t *testing.T) {
	n := 0
	err := ParseSource(strings.NewReader("a 1\nb 2\n"), SourceOptions{File: "F"}, func(Entry) error {
		n++
		return fmt.Errorf("stop")
	})
	if err == nil || n != 1 {
		t.Errorf("err = %v after %d entries, want stop after 1", err, n)
	}
}
