package maps

import (
	"context"
	"fmt"
	"os"
)

// textHash is texthash:FILE, a table read straight from its source text
// (postmap format) into memory, without a build step.
type textHash struct {
	spec, path string
	opt        Options
	r          *reloader[*textData]
}

type textData struct {
	m     map[string]string
	order []string
}

var (
	_ Table  = (*textHash)(nil)
	_ Walker = (*textHash)(nil)
	_ Source = (*textHash)(nil)
)

func openTextHash(spec, _, name string, opt Options) (Table, error) {
	t := &textHash{spec: spec, path: name, opt: opt}
	r, err := newReloader(name, describe(spec), opt, t.load, nil)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", name, unwrapPath(err))
	}
	t.r = r
	return t, nil
}

func (t *textHash) load(path string) (*textData, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, unwrapPath(err))
	}
	defer f.Close()
	d := &textData{m: map[string]string{}}
	sopt := SourceOptions{File: path, Warn: func(msg string) { t.opt.warnf("%s", msg) }}
	err = ParseSource(f, sopt, func(e Entry) error {
		k := t.opt.fold(e.Key)
		if _, dup := d.m[k]; dup {
			sopt.Warn(fmt.Sprintf("%s, line %d: duplicate entry: %q", path, e.Line, k))
			return nil
		}
		if len(d.order) >= MaxTextEntries {
			return fmt.Errorf("%s, line %d: more than %d entries; use a hash: table", path, e.Line, MaxTextEntries)
		}
		d.m[k] = e.Value
		d.order = append(d.order, k)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

func (t *textHash) Name() string       { return t.spec }
func (t *textHash) SourceFile() string { return t.path }

func (t *textHash) Lookup(ctx context.Context, key string) (string, bool, error) {
	if err := ctx.Err(); err != nil {
		return "", false, err
	}
	v, ok := t.r.current().val.m[t.opt.fold(key)]
	return v, ok, nil
}

// Walk lists the entries in source order.
func (t *textHash) Walk(ctx context.Context, fn func(key, value string) error) error {
	d := t.r.current().val
	for _, k := range d.order {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(k, d.m[k]); err != nil {
			return err
		}
	}
	return nil
}
