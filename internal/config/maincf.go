package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// MaxFileSize is the largest main.cf or master.cf Postern reads.
const MaxFileSize = 8 << 20

// setting is one parameter assignment.
type setting struct {
	value string
	line  int // line in main.cf; 0 when set by Set or With
}

// Config is a parsed main.cf: the parameters it sets, over the built-in
// defaults. Values are expanded when asked for, so a change to one
// parameter shows in every value that refers to it. A Config is safe for
// concurrent reads; Set must not run at the same time as anything else.
type Config struct {
	dir  string
	file string
	vals map[string]setting
}

// Load reads dir/main.cf and checks the syntax and the expansion of every
// value it sets. A missing main.cf gives the built-in defaults.
func Load(dir string) (*Config, error) {
	file := filepath.Join(dir, "main.cf")
	data, err := readLimited(file)
	if errors.Is(err, fs.ErrNotExist) {
		c := Defaults()
		c.dir, c.file = dir, file
		return c, nil
	}
	if err != nil {
		return nil, err
	}
	return Parse(file, data)
}

// readLimited reads a configuration file of at most MaxFileSize bytes.
func readLimited(file string) ([]byte, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", file, err)
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("%s: file is larger than %d bytes", file, MaxFileSize)
	}
	return data, nil
}

// Parse parses main.cf text; file names it in messages and gives the
// configuration directory. Like Load, it checks every value it sets.
func Parse(file string, data []byte) (*Config, error) {
	c := &Config{dir: filepath.Dir(file), file: file, vals: map[string]setting{}}
	err := scanLogical(data, func(line int, text string) error {
		name, value, err := splitAssignment(text)
		if err != nil {
			return &lineError{line, err}
		}
		c.vals[name] = setting{value: value, line: line}
		return nil
	})
	var le *lineError
	if errors.As(err, &le) {
		return nil, fmt.Errorf("%s, line %d: %w", file, le.line, le.err)
	}
	if err := c.check(); err != nil {
		return nil, err
	}
	return c, nil
}

// Defaults returns a Config with no main.cf: every parameter has its
// built-in default.
func Defaults() *Config {
	return &Config{dir: DefaultDir, file: filepath.Join(DefaultDir, "main.cf"), vals: map[string]setting{}}
}

// lineError is a problem on one line of a configuration file.
type lineError struct {
	line int
	err  error
}

func (e *lineError) Error() string { return fmt.Sprintf("line %d: %v", e.line, e.err) }
func (e *lineError) Unwrap() error { return e.err }

// scanLogical calls f with each logical line of a Postfix configuration
// file and the number of its first physical line. Blank lines and lines
// whose first non-blank character is # are skipped; a line that starts
// with whitespace continues the logical line before it, joined with one
// space. Its own errors, and f's, are *lineError.
func scanLogical(data []byte, f func(line int, text string) error) error {
	var cur strings.Builder
	start := 0
	emit := func() error {
		if start == 0 {
			return nil
		}
		err := f(start, cur.String())
		cur.Reset()
		start = 0
		return err
	}
	lineNo := 0
	for len(data) > 0 {
		lineNo++
		var raw []byte
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			raw, data = data[:i], data[i+1:]
		} else {
			raw, data = data, nil
		}
		if bytes.IndexByte(raw, 0) >= 0 {
			return &lineError{lineNo, errors.New("NUL character")}
		}
		trimmed := strings.TrimSpace(string(raw))
		if trimmed == "" || trimmed[0] == '#' {
			continue
		}
		if isSpace(raw[0]) {
			if start == 0 {
				return &lineError{lineNo, fmt.Errorf("text starts with whitespace but continues no line: %s", excerpt(trimmed))}
			}
			cur.WriteByte(' ')
			cur.WriteString(trimmed)
			continue
		}
		if err := emit(); err != nil {
			return err
		}
		start = lineNo
		cur.WriteString(trimmed)
	}
	return emit()
}

// splitAssignment splits "name = value".
func splitAssignment(text string) (name, value string, err error) {
	name, value, ok := strings.Cut(text, "=")
	name = strings.TrimSpace(name)
	if !ok || strings.ContainsAny(name, " \t") {
		return "", "", fmt.Errorf("missing '=' after parameter name: %s", excerpt(text))
	}
	if name == "" {
		return "", "", fmt.Errorf("missing parameter name: %s", excerpt(text))
	}
	return name, strings.TrimSpace(value), nil
}

// check parses every value set in main.cf and expands it, and reports the
// first problem in file order, naming its line.
func (c *Config) check() error {
	names := c.SetNames()
	sort.SliceStable(names, func(i, j int) bool { return c.vals[names[i]].line < c.vals[names[j]].line })
	where := func(name string) string {
		if l := c.vals[name].line; l > 0 {
			return fmt.Sprintf("%s, line %d", c.file, l)
		}
		return c.file
	}
	for _, name := range names {
		if rawParams[name] {
			continue // checked by the program that expands it
		}
		if _, err := parseValue(c.vals[name].value); err != nil {
			return fmt.Errorf("%s: %s = %s: %w", where(name), name, excerpt(c.vals[name].value), err)
		}
	}
	if v, ok := c.vals["compatibility_level"]; ok {
		// The defaults compare it with <level: check it once here.
		if lv, err := c.Expand("compatibility_level"); err == nil {
			if _, err := parseLevel(lv); err != nil {
				return fmt.Errorf("%s: compatibility_level = %s: %w", where("compatibility_level"), excerpt(v.value), err)
			}
		}
	}
	// One step budget for the whole file bounds the work a hostile
	// main.cf can cause; a real one uses a few hundred steps.
	e := &expander{c: c}
	for _, name := range names {
		e.size = 0
		if _, err := e.name(name); err != nil {
			return fmt.Errorf("%s: %s = %s: %w", where(name), name, excerpt(c.vals[name].value), err)
		}
	}
	return nil
}

// Dir returns the configuration directory.
func (c *Config) Dir() string { return c.dir }

// File returns the path of main.cf.
func (c *Config) File() string { return c.file }

// rawValue returns the unexpanded value of name: as set, else its default.
func (c *Config) rawValue(e *expander, name string) (string, error) {
	if v, ok := e.vars[name]; ok {
		return v, nil
	}
	if s, ok := c.vals[name]; ok {
		return s.value, nil
	}
	if dyn, ok := dynamicDefaults[name]; ok {
		return dyn(e)
	}
	if p, ok := registry[name]; ok {
		return p.Default, nil
	}
	return "", nil
}

// Raw returns the unexpanded value of name: as written (in main.cf, by Set
// or by With) when set is true, else the parameter's default ("" for a
// name Postern does not know).
func (c *Config) Raw(name string) (value string, set bool) {
	if s, ok := c.vals[name]; ok {
		return s.value, true
	}
	v, err := c.rawValue(&expander{c: c}, name)
	if err != nil {
		return "", false
	}
	return v, false
}

// IsSet reports whether name is set in main.cf, by Set or by With.
func (c *Config) IsSet(name string) bool {
	_, ok := c.vals[name]
	return ok
}

// Expand returns the value of name with every $reference expanded. A raw
// parameter (IsRaw) is returned as written.
func (c *Config) Expand(name string) (string, error) {
	e := &expander{c: c}
	v, err := e.name(name)
	if err != nil {
		return "", fmt.Errorf("expand %s: %w", name, err)
	}
	return v, nil
}

// ExpandString expands the $references in s against c.
func (c *Config) ExpandString(s string) (string, error) {
	e := &expander{c: c}
	return e.text(s, "")
}

// ExpandWith expands the $references in s, looking names up in vars before
// c's parameters. It is for the values Config leaves as written (IsRaw):
// local expands forward_path with $home and $user, smtpd expands
// default_rbl_reply with $rbl_code; parameters those values refer to are
// expanded too.
func (c *Config) ExpandWith(s string, vars map[string]string) (string, error) {
	if vars == nil {
		vars = map[string]string{}
	}
	e := &expander{c: c, vars: vars}
	return e.text(s, "")
}

// Get returns the expanded value of name (set, else default). It returns
// "" for a name that is neither set nor known, and for a value that cannot
// be expanded (Load has already refused those in main.cf; use a Reader or
// Expand to see the error).
func (c *Config) Get(name string) string {
	v, _ := c.Expand(name)
	return v
}

// Lookup returns the expanded value of name, and false when name is
// neither set nor a known parameter.
func (c *Config) Lookup(name string) (string, bool) {
	if _, ok := c.vals[name]; !ok {
		if _, ok := registry[name]; !ok {
			return "", false
		}
	}
	return c.Get(name), true
}

// Set sets name to value in memory (for development defaults and tests).
func (c *Config) Set(name, value string) {
	c.vals[name] = setting{value: value}
}

// With returns a copy of c with the options applied in order, as master.cf
// -o overrides are.
func (c *Config) With(opts []Option) *Config {
	n := &Config{dir: c.dir, file: c.file, vals: make(map[string]setting, len(c.vals)+len(opts))}
	for k, v := range c.vals {
		n.vals[k] = v
	}
	for _, o := range opts {
		n.vals[o.Name] = setting{value: o.Value}
	}
	return n
}

// SetNames returns the names set in main.cf, by Set or by With, sorted.
func (c *Config) SetNames() []string {
	names := make([]string, 0, len(c.vals))
	for k := range c.vals {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// Line returns the main.cf line that sets name, 0 when it is not set there.
func (c *Config) Line(name string) int { return c.vals[name].line }

// Option is one name=value override, as given with master.cf's -o.
type Option struct{ Name, Value string }
