package config

import (
	"sort"
	"strings"
)

// Suffixes that make SERVICE_suffix a known parameter for a master.cf
// service although no default_suffix exists.
var serviceSuffixes = map[string]bool{
	"time_limit":                      true, // pipe, spawn: else command_time_limit
	"initial_destination_concurrency": true,
}

// Uses tells which parameter names are in use, the way postconf decides
// whether to warn "unused parameter".
type Uses struct {
	c        *Config
	services []string
	refs     map[string]bool
}

// Uses returns what is in use in c: every registered parameter, every name
// a value refers to ($name in main.cf, in the defaults or in refs, such as
// the values of master.cf -o options), the smtpd_restriction_classes, and
// SERVICE_suffix for each of services whose default_suffix is a parameter
// (relay_destination_concurrency_limit for a "relay" service).
func (c *Config) Uses(services []string, refTexts []string) *Uses {
	u := &Uses{c: c, services: services, refs: map[string]bool{}}
	add := func(n string) { u.refs[n] = true }
	for _, s := range c.vals {
		if nodes, err := parseValue(s.value); err == nil {
			refs(nodes, add)
		}
	}
	for _, t := range refTexts {
		if nodes, err := parseValue(t); err == nil {
			refs(nodes, add)
		}
	}
	for _, class := range SplitList(c.Get("smtpd_restriction_classes")) {
		add(class)
	}
	return u
}

// Known reports whether name is in use.
func (u *Uses) Known(name string) bool {
	if _, ok := registry[name]; ok || defaultRefs[name] || u.refs[name] {
		return true
	}
	for _, s := range u.services {
		suffix, ok := strings.CutPrefix(name, s+"_")
		if !ok {
			continue
		}
		if _, ok := registry["default_"+suffix]; ok || serviceSuffixes[suffix] {
			return true
		}
	}
	return false
}

// Unused returns the settings that nothing uses, in main.cf order: names
// that are not known parameters, not referred to by any value, and not a
// SERVICE_suffix form for one of services (the master.cf service names).
func (c *Config) Unused(services []string) []Option {
	return c.Uses(services, nil).unused()
}

// UnusedIn is Unused where the references in refTexts (the values of the
// master.cf -o options) count as uses too.
func (c *Config) UnusedIn(services []string, refTexts []string) []Option {
	return c.Uses(services, refTexts).unused()
}

func (u *Uses) unused() []Option {
	var names []string
	for n := range u.c.vals {
		if !u.Known(n) {
			names = append(names, n)
		}
	}
	sort.Slice(names, func(i, j int) bool {
		li, lj := u.c.vals[names[i]].line, u.c.vals[names[j]].line
		if li != lj {
			return li < lj
		}
		return names[i] < names[j]
	})
	out := make([]Option, len(names))
	for i, n := range names {
		out[i] = Option{Name: n, Value: u.c.vals[n].value}
	}
	return out
}
