package config

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
)

// Service is one master.cf entry.
type Service struct {
	Name, Type string // "smtp", "inet"; "cleanup", "unix" …
	// Resolved columns: "-" gives private y, unpriv y, chroot n. An inet
	// service is never private.
	Private, Unpriv, Chroot bool
	Wakeup                  int  // seconds between wake-ups; 0 for none
	WakeupWhenUsed          bool // the wakeup column ends in '?': not before first use
	MaxProc                 int  // -1 for "-" (default_process_limit); 0 for no limit
	Command                 string
	// Args are the command's arguments other than -o: pipe's flags=…,
	// user=…, argv=…; an argument written in braces is given without them.
	Args    []string
	Options []Option // the -o name=value overrides, in order
	File    string
	Line    int
	// Raw holds the columns as written ("-" kept) and, last, the command
	// with its arguments in postconf -M's normalized form.
	Raw [8]string
}

// Key returns "name/type", e.g. "smtp/inet".
func (s Service) Key() string { return s.Name + "/" + s.Type }

// masterFields names master.cf's columns, for messages and postconf -F.
var masterFields = [8]string{"service", "type", "private", "unprivileged", "chroot", "wakeup", "process_limit", "command"}

// MasterFieldNames returns the names postconf -F gives the eight columns.
func MasterFieldNames() [8]string { return masterFields }

var serviceTypes = map[string]bool{"inet": true, "unix": true, "unix-dgram": true, "fifo": true, "pass": true}

// LoadMaster reads dir/master.cf, or DefaultMasterCF when there is none.
func LoadMaster(dir string) ([]Service, error) {
	file := filepath.Join(dir, "master.cf")
	data, err := readLimited(file)
	if errors.Is(err, fs.ErrNotExist) {
		return ParseMaster(BuiltinMasterName, []byte(DefaultMasterCF))
	}
	if err != nil {
		return nil, err
	}
	return ParseMaster(file, data)
}

// BuiltinMasterName is the File of services from DefaultMasterCF.
const BuiltinMasterName = "built-in master.cf"

// ParseMaster parses master.cf text. A service whose name and type repeat
// an earlier one replaces it.
func ParseMaster(file string, data []byte) ([]Service, error) {
	var out []Service
	index := map[string]int{}
	err := scanLogical(data, func(line int, text string) error {
		s, err := parseService(text)
		if err != nil {
			return &lineError{line, err}
		}
		s.File, s.Line = file, line
		if i, dup := index[s.Key()]; dup {
			out[i] = s
			return nil
		}
		index[s.Key()] = len(out)
		out = append(out, s)
		return nil
	})
	var le *lineError
	if errors.As(err, &le) {
		return nil, fmt.Errorf("%s: line %d: %w", file, le.line, le.err)
	}
	return out, nil
}

// masterToken is one word of a master.cf line; braced words keep spaces.
type masterToken struct {
	text   string
	braced bool
}

func tokenizeMaster(text string) ([]masterToken, error) {
	var out []masterToken
	for i := 0; i < len(text); {
		if isSpace(text[i]) {
			i++
			continue
		}
		if text[i] == '{' {
			end := matching(text, i)
			if end < 0 {
				return nil, fmt.Errorf("missing \"}\" in %s", excerpt(text[i:]))
			}
			out = append(out, masterToken{text: strings.TrimSpace(text[i+1 : end]), braced: true})
			i = end + 1
			continue
		}
		j := i
		for j < len(text) && !isSpace(text[j]) {
			j++
		}
		out = append(out, masterToken{text: text[i:j]})
		i = j
	}
	return out, nil
}

func parseService(text string) (Service, error) {
	var s Service
	toks, err := tokenizeMaster(text)
	if err != nil {
		return s, err
	}
	for i := 0; i < 8; i++ {
		if i >= len(toks) {
			return s, fmt.Errorf("field %q: missing", masterFields[i])
		}
		if i < 7 {
			if toks[i].braced {
				return s, fmt.Errorf("field %q: braces are allowed only in command arguments", masterFields[i])
			}
			s.Raw[i] = toks[i].text
		}
	}
	s.Name, s.Type = toks[0].text, toks[1].text
	if !serviceTypes[s.Type] {
		return s, fmt.Errorf("field \"type\": unknown service type %q (use inet, unix, unix-dgram, fifo or pass)", s.Type)
	}
	yn := func(i int, def bool) (bool, error) {
		switch toks[i].text {
		case "y":
			return true, nil
		case "n":
			return false, nil
		case "-":
			return def, nil
		}
		return false, fmt.Errorf("field %q: %q is not y, n or -", masterFields[i], toks[i].text)
	}
	if s.Private, err = yn(2, true); err != nil {
		return s, err
	}
	if s.Type == "inet" {
		s.Private = false
	}
	if s.Unpriv, err = yn(3, true); err != nil {
		return s, err
	}
	if s.Chroot, err = yn(4, false); err != nil {
		return s, err
	}
	if w := toks[5].text; w != "-" {
		w, s.WakeupWhenUsed = strings.CutSuffix(w, "?")
		if s.Wakeup, err = smallNumber(w); err != nil {
			return s, fmt.Errorf("field \"wakeup\": %q is not a number of seconds, -, or a number followed by ?", toks[5].text)
		}
	}
	s.MaxProc = -1
	if m := toks[6].text; m != "-" {
		if s.MaxProc, err = smallNumber(m); err != nil {
			return s, fmt.Errorf("field \"process_limit\": %q is not a number or -", m)
		}
	}
	if toks[7].braced {
		return s, fmt.Errorf("field \"command\": a command name cannot be in braces")
	}
	s.Command = toks[7].text
	norm := []string{s.Command}
	for i := 8; i < len(toks); i++ {
		t := toks[i]
		if t.braced {
			s.Args = append(s.Args, t.text)
			norm = append(norm, braceIfNeeded(t.text))
			continue
		}
		var kv string
		var braced bool
		switch {
		case t.text == "-o":
			if i+1 >= len(toks) {
				return s, fmt.Errorf("-o at the end of the line: name=value missing")
			}
			i++
			kv, braced = toks[i].text, toks[i].braced
		case strings.HasPrefix(t.text, "-o"):
			kv = t.text[2:]
		default:
			s.Args = append(s.Args, t.text)
			norm = append(norm, t.text)
			continue
		}
		name, value, ok := strings.Cut(kv, "=")
		name = strings.TrimSpace(name)
		if !ok || name == "" || strings.ContainsAny(name, " \t") {
			return s, fmt.Errorf("-o %s: expected name=value (write -o { name = value } for a value with spaces)", excerpt(kv))
		}
		if !braced {
			if strings.HasPrefix(value, "{") || i+1 < len(toks) && toks[i+1].text == "=" {
				return s, fmt.Errorf("-o %s: expected name=value (write -o { name = value } for a value with spaces)", excerpt(kv))
			}
		}
		o := Option{Name: name, Value: strings.TrimSpace(value)}
		s.Options = append(s.Options, o)
		norm = append(norm, "-o", braceIfNeeded(o.Name+"="+o.Value))
	}
	s.Raw[7] = strings.Join(norm, " ")
	return s, nil
}

// smallNumber reads a non-negative number of at most nine digits.
func smallNumber(s string) (int, error) {
	if !allDigits(s) || len(s) > 9 {
		return 0, fmt.Errorf("not a number")
	}
	n := 0
	for _, c := range []byte(s) {
		n = n*10 + int(c-'0')
	}
	return n, nil
}

// braceIfNeeded puts an argument with spaces (or nothing) in braces.
func braceIfNeeded(s string) string {
	if s == "" || strings.ContainsAny(s, " \t") || strings.HasPrefix(s, "{") {
		return "{" + s + "}"
	}
	return s
}

// Format returns s as one line in postconf -M's normalized column form.
func (s Service) Format() string {
	var b strings.Builder
	goals := [7]int{0, 11, 17, 25, 33, 41, 49}
	for i := 0; i < 7; i++ {
		if i > 0 {
			b.WriteByte(' ')
		}
		for b.Len() < goals[i] {
			b.WriteByte(' ')
		}
		b.WriteString(s.Raw[i])
	}
	b.WriteByte(' ')
	for b.Len() < 57 {
		b.WriteByte(' ')
	}
	b.WriteString(s.Raw[7])
	return b.String()
}
