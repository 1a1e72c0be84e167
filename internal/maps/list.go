package maps

import (
	"context"
	"fmt"
	"strings"
)

// List is a Postfix table list such as "hash:/a, regexp:/b": the first
// table that finds a key wins; an error from a table stops the search
// (a later table must not answer for one that could not).
type List struct {
	name   string
	tables []Table
}

var (
	_ Table   = (*List)(nil)
	_ Pattern = (*List)(nil)
)

// OpenList opens every table of a list. Each element of specs may itself
// be a list ("hash:/a, regexp:/b"): elements are split at commas and
// whitespace outside braces. An empty list is valid and never finds
// anything.
func OpenList(specs []string, opt Options) (*List, error) {
	var all []string
	for _, s := range specs {
		parts, err := splitTop(s)
		if err != nil {
			return nil, fmt.Errorf("table list %q: %w", s, err)
		}
		all = append(all, parts...)
	}
	if len(all) > maxMembers {
		return nil, fmt.Errorf("table list %q: more than %d tables", strings.Join(specs, ", "), maxMembers)
	}
	l := &List{name: strings.Join(all, ", ")}
	for _, s := range all {
		t, err := Open(s, opt)
		if err != nil {
			return nil, err
		}
		l.tables = append(l.tables, t)
	}
	return l, nil
}

// Name returns the tables' names joined with ", ".
func (l *List) Name() string { return l.name }

// Tables returns the member tables, in order.
func (l *List) Tables() []Table { return l.tables }

// Len returns the number of tables.
func (l *List) Len() int { return len(l.tables) }

// IsPattern is true when the list is not empty and holds only pattern
// tables.
func (l *List) IsPattern() bool {
	for _, t := range l.tables {
		if !IsPattern(t) {
			return false
		}
	}
	return len(l.tables) > 0
}

// Lookup asks each table in turn.
func (l *List) Lookup(ctx context.Context, key string) (string, bool, error) {
	return l.lookup(ctx, key, false)
}

// lookup asks each table in turn; with fixedOnly, pattern tables are
// skipped (a partial key such as "@domain" is never shown to them).
func (l *List) lookup(ctx context.Context, key string, fixedOnly bool) (string, bool, error) {
	for _, t := range l.tables {
		if fixedOnly && IsPattern(t) {
			continue
		}
		v, found, err := t.Lookup(ctx, key)
		if err != nil || found {
			return v, found, err
		}
	}
	return "", false, nil
}
