package postconf

import (
	"fmt"
	"strings"

	"github.com/postern-mta/postern/internal/config"
)

// showMaster prints master.cf services (-M), their fields (-F) or their -o
// parameters (-P), all of them or those the arguments select.
func (r *run) showMaster(dir string) error {
	c, err := r.load(dir)
	if err != nil {
		return err
	}
	svcs, err := config.LoadMaster(dir)
	if err != nil {
		return err
	}
	r.checkUnused(c, svcs)
	pats := make([]pattern, 0, len(r.args))
	for _, a := range r.args {
		p, err := parsePattern(a, r.opt.fields)
		if err != nil {
			return err
		}
		pats = append(pats, p)
	}
	matched := make([]bool, len(pats))
	selected := func(s config.Service, attr string) bool {
		if len(pats) == 0 {
			return true
		}
		ok := false
		for i, p := range pats {
			if p.match(s, attr) {
				matched[i] = true
				ok = true
			}
		}
		return ok
	}
	fields := config.MasterFieldNames()
	for _, s := range svcs {
		switch {
		case r.opt.master:
			if selected(s, "") {
				r.printService(s)
			}
		case r.opt.fields:
			for i, f := range fields {
				if selected(s, f) {
					r.printParam(s.Key()+"/"+f, s.Raw[i])
				}
			}
		case r.opt.params:
			for _, o := range s.Options {
				if selected(s, o.Name) {
					r.printParam(s.Key()+"/"+o.Name, o.Value)
				}
			}
		}
	}
	for i, ok := range matched {
		if !ok {
			r.warn("unmatched request: %q", r.args[i])
		}
	}
	return nil
}

// pattern selects services: name[/type[/attribute]], where "*" or a
// missing part matches anything.
type pattern struct{ name, typ, attr string }

func parsePattern(s string, fields bool) (pattern, error) {
	parts := strings.SplitN(s, "/", 3)
	for len(parts) < 3 {
		parts = append(parts, "*")
	}
	p := pattern{parts[0], parts[1], parts[2]}
	if fields && p.attr != "*" {
		known := false
		for _, f := range config.MasterFieldNames() {
			known = known || f == p.attr
		}
		if !known {
			return p, fmt.Errorf("invalid service attribute name: %q", p.attr)
		}
	}
	return p, nil
}

func (p pattern) match(s config.Service, attr string) bool {
	return (p.name == "*" || p.name == s.Name) && (p.typ == "*" || p.typ == s.Type) && (attr == "" || p.attr == "*" || p.attr == attr)
}

// printService prints one service in the normalized column form, folded
// with -f as Postfix does: leading -o options one per line, then the other
// arguments filled up to 79 columns.
func (r *run) printService(s config.Service) {
	line := s.Format()
	if !r.opt.fold {
		fmt.Fprintln(r.out, line)
		return
	}
	head := strings.TrimSuffix(line, s.Raw[7]) + s.Command
	args := splitArgs(strings.TrimPrefix(s.Raw[7], s.Command))
	lines := []string{head}
	leading := true
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "-o" && i+1 < len(args) && leading {
			lines = append(lines, "    -o "+args[i+1])
			i++
			continue
		}
		if leading && len(lines) > 1 {
			lines = append(lines, "    "+a)
			leading = false
			continue
		}
		leading = false
		if last := lines[len(lines)-1]; len(last)+1+len(a) > masterFoldWidth {
			lines = append(lines, "    "+a)
		} else {
			lines[len(lines)-1] = last + " " + a
		}
	}
	fmt.Fprintln(r.out, strings.Join(lines, "\n"))
}

// splitArgs splits a normalized command line on spaces outside braces.
func splitArgs(s string) []string {
	var out []string
	depth, start := 0, -1
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '{':
			depth++
		case c == '}' && depth > 0:
			depth--
		}
		if c == ' ' && depth == 0 {
			if start >= 0 {
				out = append(out, s[start:i])
				start = -1
			}
		} else if start < 0 {
			start = i
		}
	}
	if start >= 0 {
		out = append(out, s[start:])
	}
	return out
}

// The longest lines -f makes, unless one word is longer: Postfix allows
// one column less in master.cf entries than in parameter lines.
const (
	foldWidth       = 80
	masterFoldWidth = 79
)

// fold breaks a "name = value" line at spaces so that no line is longer
// than foldWidth; continuation lines start with four spaces.
func fold(line string) string {
	words := strings.Fields(line)
	if len(words) == 0 {
		return line
	}
	var lines []string
	cur := words[0]
	for _, w := range words[1:] {
		if len(cur)+1+len(w) > foldWidth {
			lines = append(lines, cur)
			cur = "    " + w
		} else {
			cur += " " + w
		}
	}
	return strings.Join(append(lines, cur), "\n")
}
