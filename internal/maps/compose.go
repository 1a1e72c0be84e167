package maps

import (
	"context"
	"fmt"
	"strings"
)

// maxMembers bounds the tables in one unionmap:, pipemap: or list.
const maxMembers = 256

// composite is unionmap:{t1, t2, …} (the comma-joined results of every
// table that finds the key; not found when none does) or
// pipemap:{t1, t2, …} (the result of each table is the key of the next;
// not found as soon as one does not find it). An error from any member is
// the composite's error.
type composite struct {
	spec   string
	pipe   bool
	tables []Table
}

func openComposite(spec, typ, name string, opt Options) (Table, error) {
	inner, ok := unbrace(name)
	if !ok {
		return nil, fmt.Errorf("%s: bad syntax: need \"%s:{type:name, ...}\"", spec, typ)
	}
	specs, err := splitTop(inner)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", spec, err)
	}
	if len(specs) == 0 {
		return nil, fmt.Errorf("%s: need at least one table", spec)
	}
	if len(specs) > maxMembers {
		return nil, fmt.Errorf("%s: more than %d tables", spec, maxMembers)
	}
	c := &composite{spec: spec, pipe: typ == "pipemap"}
	for _, s := range specs {
		t, err := Open(s, opt)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", spec, err)
		}
		c.tables = append(c.tables, t)
	}
	return c, nil
}

func (c *composite) Name() string { return c.spec }

func (c *composite) Lookup(ctx context.Context, key string) (string, bool, error) {
	if c.pipe {
		for _, t := range c.tables {
			v, found, err := t.Lookup(ctx, key)
			if err != nil || !found {
				return "", false, err
			}
			key = v
		}
		return key, true, nil
	}
	var vals []string
	for _, t := range c.tables {
		v, found, err := t.Lookup(ctx, key)
		if err != nil {
			return "", false, err
		}
		if found {
			vals = append(vals, v)
		}
	}
	if len(vals) == 0 {
		return "", false, nil
	}
	return strings.Join(vals, ","), true, nil
}
