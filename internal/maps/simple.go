package maps

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
)

// inline:{k1=v1, {k2 = v w}} — a table written in the spec itself.
type inlineTable struct {
	spec  string
	opt   Options
	m     map[string]string
	order []string
}

var (
	_ Table  = (*inlineTable)(nil)
	_ Walker = (*inlineTable)(nil)
)

func openInline(spec, _, name string, opt Options) (Table, error) {
	inner, ok := unbrace(name)
	if !ok {
		return nil, fmt.Errorf("%s: bad syntax: need \"inline:{name=value, ...}\"", spec)
	}
	items, err := splitTop(inner)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", spec, err)
	}
	t := &inlineTable{spec: spec, opt: opt, m: map[string]string{}}
	for _, it := range items {
		if s, braced := unbrace(it); braced {
			it = s
		}
		k, v, ok := strings.Cut(it, "=")
		k, v = trimSpace(k), trimSpace(v)
		if !ok || k == "" {
			return nil, fmt.Errorf("%s: need name=value instead of %q", spec, it)
		}
		k = opt.fold(k)
		if _, dup := t.m[k]; dup {
			continue // first wins, as in every table
		}
		t.m[k] = v
		t.order = append(t.order, k)
	}
	return t, nil
}

func (t *inlineTable) Name() string { return t.spec }

func (t *inlineTable) Lookup(ctx context.Context, key string) (string, bool, error) {
	if err := ctx.Err(); err != nil {
		return "", false, err
	}
	v, ok := t.m[t.opt.fold(key)]
	return v, ok, nil
}

func (t *inlineTable) Walk(ctx context.Context, fn func(key, value string) error) error {
	for _, k := range t.order {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(k, t.m[k]); err != nil {
			return err
		}
	}
	return nil
}

// static:value and static:{value with spaces} — every key finds value.
type staticTable struct{ spec, value string }

func openStatic(spec, _, name string, _ Options) (Table, error) {
	v, _ := unbrace(name)
	return &staticTable{spec: spec, value: v}, nil
}

func (t *staticTable) Name() string { return t.spec }

func (t *staticTable) Lookup(ctx context.Context, _ string) (string, bool, error) {
	if err := ctx.Err(); err != nil {
		return "", false, err
	}
	return t.value, true, nil
}

// fail:name — every lookup is a temporary failure; for tests of the
// callers' error paths. The name only appears in messages.
type failTable struct{ spec string }

// ErrFail is what a fail: table returns (wrapped) from every lookup.
var ErrFail = errors.New("table lookup failed (fail: table)")

func openFail(spec, _, _ string, _ Options) (Table, error) {
	return &failTable{spec: spec}, nil
}

func (t *failTable) Name() string { return t.spec }

func (t *failTable) Lookup(_ context.Context, key string) (string, bool, error) {
	return "", false, fmt.Errorf("table %s: lookup %q: %w", t.spec, key, ErrFail)
}

// environ:name — keys are environment variable names (never folded).
type environTable struct{ spec string }

var _ Walker = (*environTable)(nil)

func openEnviron(spec, _, _ string, _ Options) (Table, error) {
	return &environTable{spec: spec}, nil
}

func (t *environTable) Name() string { return t.spec }

func (t *environTable) Lookup(ctx context.Context, key string) (string, bool, error) {
	if err := ctx.Err(); err != nil {
		return "", false, err
	}
	v, ok := os.LookupEnv(key)
	return v, ok, nil
}

func (t *environTable) Walk(ctx context.Context, fn func(key, value string) error) error {
	for _, kv := range os.Environ() {
		if err := ctx.Err(); err != nil {
			return err
		}
		k, v, _ := strings.Cut(kv, "=")
		if err := fn(k, v); err != nil {
			return err
		}
	}
	return nil
}
