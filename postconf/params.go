package postconf

import (
	"fmt"
	"sort"
	"strings"

	"github.com/postern-mta/postern/internal/config"
)

// showParams prints parameters: all of them, or those named, from the
// defaults (-d), from main.cf only (-n), or in effect.
func (r *run) showParams(dir string) error {
	var cfg *config.Config
	var uses *config.Uses
	if r.opt.defaults {
		cfg = config.Defaults()
	} else {
		c, err := r.load(dir)
		if err != nil {
			return err
		}
		svcs, err := config.LoadMaster(dir)
		if err != nil {
			return err
		}
		cfg, uses = c, r.checkUnused(c, svcs)
	}
	names := r.args
	if len(names) == 0 {
		names = r.allNames(cfg, uses)
	}
	for _, name := range names {
		_, registered := config.LookupParam(name)
		used := uses != nil && cfg.IsSet(name) && uses.Known(name)
		switch {
		case r.opt.defaults && !registered, !r.opt.defaults && !registered && !used:
			r.warn("%s: unknown parameter", name)
			continue
		case r.opt.nonDefault && !used:
			continue
		}
		value, _ := cfg.Raw(name)
		if r.opt.expand {
			v, err := cfg.Expand(name)
			if err != nil {
				return err
			}
			value = v
		}
		r.printParam(name, value)
	}
	return nil
}

// load reads main.cf and applies the -o overrides.
func (r *run) load(dir string) (*config.Config, error) {
	c, err := config.Load(dir)
	if err != nil {
		return nil, err
	}
	opts, err := r.overrides()
	if err != nil {
		return nil, err
	}
	if len(opts) > 0 {
		c = c.With(opts)
	}
	return c, nil
}

// allNames are the names shown when none is given.
func (r *run) allNames(cfg *config.Config, uses *config.Uses) []string {
	var names []string
	if !r.opt.nonDefault {
		for _, p := range config.Params() {
			names = append(names, p.Name)
		}
	}
	if !r.opt.defaults {
		for _, n := range cfg.SetNames() {
			if _, registered := config.LookupParam(n); (r.opt.nonDefault || !registered) && uses.Known(n) {
				names = append(names, n)
			}
		}
	}
	sort.Strings(names)
	return names
}

// checkUnused warns about main.cf settings and master.cf -o overrides that
// nothing uses, as Postfix's postconf does, and returns what is in use.
func (r *run) checkUnused(c *config.Config, svcs []config.Service) *config.Uses {
	var names, refs []string
	for _, s := range svcs {
		names = append(names, s.Name)
		for _, o := range s.Options {
			refs = append(refs, o.Value)
		}
	}
	uses := c.Uses(names, refs)
	for _, o := range c.UnusedIn(names, refs) {
		if c.Line(o.Name) > 0 {
			r.warn("%s: unused parameter: %s=%s", c.File(), o.Name, o.Value)
		}
	}
	for _, s := range svcs {
		for _, o := range s.Options {
			if !uses.Known(o.Name) {
				r.warn("%s: unused parameter: %s=%s", s.File, o.Name, o.Value)
			}
		}
	}
	return uses
}

// printParam prints one parameter in the form -h, -H and -f ask for. As in
// Postfix, runs of whitespace in the value print as one space.
func (r *run) printParam(name, value string) {
	value = strings.Join(strings.Fields(value), " ")
	var line string
	switch {
	case r.opt.hideNames:
		line = value
	case r.opt.hideValues:
		line = name
	case value == "":
		line = name + " ="
	default:
		line = name + " = " + value
	}
	if r.opt.fold {
		line = fold(line)
	}
	fmt.Fprintln(r.out, line)
}
