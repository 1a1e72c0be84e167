package doccheck

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// recorder stands in for a test so that a failing check can be watched.
type recorder struct {
	testing.TB
	msgs []string
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.msgs = append(r.msgs, fmt.Sprintf(format, args...))
}

func (r *recorder) Fatalf(format string, args ...any) {
	r.Errorf(format, args...)
	runtime.Goexit()
}

func (r *recorder) Fatal(args ...any) {
	r.msgs = append(r.msgs, fmt.Sprint(args...))
	runtime.Goexit()
}

// run checks m against a program made of files and returns what the check
// reported.
func run(t *testing.T, m Manual, files map[string]string) []string {
	t.Helper()
	dir := t.TempDir()
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	m.Doc = filepath.Join(dir, "doc.go")
	if len(m.Files) == 0 {
		m.Files = []string{"main.go"}
	}
	for i, f := range m.Files {
		m.Files[i] = filepath.Join(dir, f)
	}
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		m.Check(r)
	}()
	<-done
	for i, msg := range r.msgs {
		r.msgs[i] = strings.ReplaceAll(msg, dir+string(filepath.Separator), "")
	}
	return r.msgs
}

const mainGo = `package prog

func readConfig(c *config.Config, lmtp bool) Config {
	r := c.Reader()
	p := "smtp_"
	helo := "smtp_helo_name"
	if lmtp {
		p, helo = "lmtp_", "lmtp_lhlo_name"
	}
	for _, m := range []struct{ name string; field *string }{{"header_checks", nil}} {
		_ = m
	}
	return Config{
		QueueDir:  r.String("queue_directory"),
		Timeout:   r.Duration(p + "connect_timeout"),
		Helo:      r.String(helo),
		Limit:     r.Int(p + "line_length_limit"),
		Soft:      c.IsSet("soft_bounce"),
	}
}
`

const docGo = `// Package prog is a program.
//
// # Configuration
//
//	queue_directory, smtp_connect_timeout, smtp_helo_name,
//	lmtp_lhlo_name, smtp_line_length_limit, header_checks, soft_bounce
//
// # Files
//
//	lmtp_connect_timeout and lmtp_line_length_limit, out of the section
package prog
`

func TestRead(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "main.go")
	if err := os.WriteFile(f, []byte(mainGo), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := Read(f)
	if err != nil {
		t.Fatal(err)
	}
	// line_length_limit alone is a parameter too (smtpd's), but here it is
	// only the tail of smtp_line_length_limit.
	want := []string{
		"header_checks",
		"lmtp_connect_timeout", "lmtp_lhlo_name", "lmtp_line_length_limit",
		"queue_directory",
		"smtp_connect_timeout", "smtp_helo_name", "smtp_line_length_limit",
		"soft_bounce",
	}
	if !slices.Equal(got, want) {
		t.Errorf("Read = %q\nwant %q", got, want)
	}
	if _, err := Read(filepath.Join(dir, "missing.go")); err == nil || !strings.Contains(err.Error(), "missing.go") {
		t.Errorf("Read of a missing file: %v", err)
	}
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name  string
		m     Manual
		files map[string]string
		want  []string
	}{
		{"all documented", Manual{}, map[string]string{"main.go": mainGo, "doc.go": docGo}, nil},
		{"mirrors", Manual{Section: "# Configuration", Mirrors: map[string]string{"lmtp_": "smtp_"}},
			map[string]string{"main.go": mainGo, "doc.go": docGo}, nil},
		{"outside the section", Manual{Section: "# Configuration"},
			map[string]string{"main.go": mainGo, "doc.go": docGo}, []string{
				"main.go reads lmtp_connect_timeout, which doc.go's # Configuration section does not describe",
				"main.go reads lmtp_line_length_limit, which doc.go's # Configuration section does not describe",
			}},
		{"no such section", Manual{Section: "# Security"},
			map[string]string{"main.go": mainGo, "doc.go": docGo}, []string{`doc.go has no "# Security" section`}},
		{"missing from the manual", Manual{},
			map[string]string{"main.go": mainGo, "doc.go": strings.Replace(docGo, "soft_bounce", "", 1)},
			[]string{"main.go reads soft_bounce, which doc.go does not describe"}},
		{"a word, not a part of one", Manual{},
			map[string]string{"main.go": mainGo, "doc.go": strings.Replace(docGo, "soft_bounce", "soft_bounce_x", 1)},
			[]string{"main.go reads soft_bounce, which doc.go does not describe"}},
		{"not registered", Manual{},
			map[string]string{"main.go": `package p; func f() { r.Bool("no_such_parameter") }`, "doc.go": "// no_such_parameter\npackage p\n"},
			[]string{"main.go reads no_such_parameter, which is not a registered parameter"}},
		{"stale", Manual{Min: 10}, map[string]string{"main.go": mainGo, "doc.go": docGo}, []string{
			"found only 9 parameters read in main.go (want at least 10): update doccheck or this test"}},
		{"nothing read", Manual{}, map[string]string{"main.go": "package p\n", "doc.go": docGo}, []string{
			"found only 0 parameters read in main.go (want at least 1): update doccheck or this test"}},
		{"globs skip tests", Manual{Files: []string{"*.go"}}, map[string]string{
			"main.go": mainGo, "doc.go": docGo, "x_test.go": `package p; func f() { r.Bool("no_such_parameter") }`}, nil},
		{"no manual", Manual{}, map[string]string{"main.go": mainGo}, []string{"read the manual: open doc.go: no such file or directory"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := run(t, tt.m, tt.files)
			if !slices.Equal(got, tt.want) {
				t.Errorf("reported:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}
