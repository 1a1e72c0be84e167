package postalias

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/postern-mta/postern/internal/maps"
)

const usageText = "usage: postalias [-Nfinoprsvw] [-c config_dir] [-d key] [-q key] [map_type:]file..."

// options are the command-line flags.
type options struct {
	configDir   string
	query, del  string
	sequence    bool
	incremental bool
	noFold      bool
	replace     bool
	ignore      bool
	asRoot      bool
	defaultPerm bool
	nul, noNul  bool
	verbose     int
}

// streams are the command's standard files and its name for messages.
type streams struct {
	in       io.Reader
	out, err io.Writer
	name     string
}

func (s streams) warnf(format string, args ...any) {
	fmt.Fprintf(s.err, "%s: warning: %s\n", s.name, fmt.Sprintf(format, args...))
}

// exitError ends the command with a status; cmd/postern prints a
// non-empty message as "postalias: fatal: …".
type exitError struct {
	status int
	msg    string
}

func (e *exitError) Error() string   { return e.msg }
func (e *exitError) ExitStatus() int { return e.status }

var notFound = &exitError{status: 1}

func queryFailed(err error) error { return &exitError{status: 2, msg: err.Error()} }

func run(ctx context.Context, s streams, cfg Config, o options, args []string) error {
	if ctx == nil {
		ctx = context.Background()
	}
	modes := 0
	for _, on := range []bool{o.query != "", o.del != "", o.sequence} {
		if on {
			modes++
		}
	}
	if modes > 1 {
		return errors.New("specify only one of -s -q or -d")
	}
	building := modes == 0
	fromConfig := len(args) == 0
	if fromConfig {
		args = cfg.AliasDatabase
	}
	var specs []string
	for _, a := range args {
		typ, name, err := maps.SplitSpec(a, cfg.DefaultType)
		if err != nil {
			return err
		}
		if fromConfig && (building || o.del != "") && !maps.Compiled(typ) {
			if o.verbose > 0 {
				s.warnf("alias_database: skipping %s:%s: not a table type %s builds", typ, name, s.name)
			}
			continue
		}
		specs = append(specs, typ+":"+name)
	}
	if len(specs) == 0 {
		if fromConfig && building {
			return nil // nothing to build: alias_database is empty
		}
		return &exitError{status: 1, msg: usageText}
	}
	out := bufio.NewWriter(s.out)
	defer out.Flush()
	opt := maps.Options{FoldCase: !o.noFold, NoReload: true, Warn: func(m string) { s.warnf("%s", m) }}
	switch {
	case o.query == "-":
		return queryStdin(ctx, s, out, specs, opt)
	case o.query != "":
		return query(ctx, out, specs, o.query, opt)
	case o.del != "":
		return deleteKeys(s, specs, o)
	case o.sequence:
		return sequence(ctx, out, specs, opt)
	}
	for _, spec := range specs {
		if err := build(s, o, spec); err != nil {
			return err
		}
	}
	return nil
}

func query(ctx context.Context, out *bufio.Writer, specs []string, key string, opt maps.Options) error {
	for _, spec := range specs {
		t, err := maps.Open(spec, opt)
		if err != nil {
			return queryFailed(err)
		}
		v, found, err := t.Lookup(ctx, key)
		if err != nil {
			return queryFailed(err)
		}
		if found {
			fmt.Fprintln(out, v)
			return nil
		}
	}
	return notFound
}

// queryStdin prints "key:<TAB>value" for every key of standard input
// found in one of the tables.
func queryStdin(ctx context.Context, s streams, out *bufio.Writer, specs []string, opt maps.Options) error {
	tables := make([]maps.Table, len(specs))
	found := false
	sc := bufio.NewScanner(s.in)
	sc.Buffer(make([]byte, 0, 4096), maps.MaxLineLength)
	for sc.Scan() {
		key := sc.Text()
		for i, spec := range specs {
			if tables[i] == nil {
				t, err := maps.Open(spec, opt)
				if err != nil {
					return queryFailed(err)
				}
				tables[i] = t
			}
			v, ok, err := tables[i].Lookup(ctx, key)
			if err != nil {
				return queryFailed(err)
			}
			if ok {
				fmt.Fprintf(out, "%s:\t%s\n", key, v)
				found = true
				break
			}
		}
	}
	if err := sc.Err(); err != nil {
		return queryFailed(fmt.Errorf("read standard input: %w", err))
	}
	if !found {
		return notFound
	}
	return nil
}

func sequence(ctx context.Context, out *bufio.Writer, specs []string, opt maps.Options) error {
	for _, spec := range specs {
		t, err := maps.Open(spec, opt)
		if err != nil {
			return err
		}
		w, ok := t.(maps.Walker)
		if !ok {
			return fmt.Errorf("table %s: sequence operation is not supported", spec)
		}
		err = w.Walk(ctx, func(k, v string) error {
			_, err := fmt.Fprintf(out, "%s:\t%s\n", k, v)
			return err
		})
		if err != nil {
			return fmt.Errorf("table %s: sequence error: %w", spec, err)
		}
	}
	return nil
}

func deleteKeys(s streams, specs []string, o options) error {
	keys := []string{o.del}
	if o.del == "-" {
		keys = keys[:0]
		sc := bufio.NewScanner(s.in)
		sc.Buffer(make([]byte, 0, 4096), maps.MaxLineLength)
		for sc.Scan() {
			keys = append(keys, sc.Text())
		}
		if err := sc.Err(); err != nil {
			return fmt.Errorf("read standard input: %w", err)
		}
	}
	found := false
	for _, spec := range specs {
		typ, name, _ := maps.SplitSpec(spec, "")
		if !maps.Compiled(typ) {
			return fmt.Errorf("table %s: delete operation is not supported", spec)
		}
		path := maps.DBPath(name)
		if _, err := os.Stat(path); err != nil {
			return fmt.Errorf("open database %s: %w", path, unwrapPath(err))
		}
		b, err := maps.Update(path, maps.BuildOptions{FoldCase: !o.noFold})
		if err != nil {
			return err
		}
		changed := false
		for _, k := range keys {
			ok, err := b.Delete(k)
			if err != nil {
				b.Abort()
				return fmt.Errorf("table %s: delete error: %w", spec, err)
			}
			changed = changed || ok
		}
		if !changed {
			b.Abort()
			continue
		}
		if err := b.Commit(); err != nil {
			return err
		}
		found = true
	}
	if !found {
		return notFound
	}
	return nil
}

// build compiles an aliases file into FILE.db (or, with -i, adds the
// entries on standard input), and stores the "@" → "@" sentinel that
// says the table is complete.
func build(s streams, o options, spec string) error {
	typ, name, _ := maps.SplitSpec(spec, "")
	if !maps.Compiled(typ) {
		if !known(typ) {
			return fmt.Errorf("unsupported dictionary type: %s", typ)
		}
		return fmt.Errorf("unsupported map type for this operation: %s", typ)
	}
	bopt := maps.BuildOptions{FoldCase: !o.noFold, Warn: func(m string) { s.warnf("%s", m) }}
	switch {
	case o.replace:
		bopt.Dup = maps.DupReplace
	case o.ignore:
		bopt.Dup = maps.DupIgnore
	}
	src, file := s.in, "stdin"
	if !o.incremental {
		f, err := os.Open(name)
		if err != nil {
			return fmt.Errorf("open %s: %w", name, unwrapPath(err))
		}
		defer f.Close()
		fi, err := f.Stat()
		if err != nil {
			return fmt.Errorf("fstat %s: %w", name, unwrapPath(err))
		}
		bopt.Inherit(fi, !o.asRoot, !o.defaultPerm)
		src, file = f, name
	}
	var (
		b   *maps.Builder
		err error
	)
	if o.incremental {
		b, err = maps.Update(maps.DBPath(name), bopt)
	} else {
		b, err = maps.Create(maps.DBPath(name), bopt)
	}
	if err != nil {
		return err
	}
	n := 0
	err = maps.ParseAliases(bufio.NewReaderSize(src, 64<<10), maps.SourceOptions{File: file, Warn: bopt.Warn}, func(e maps.Entry) error {
		n++
		if err := b.Add(e.Key, e.Value); err != nil {
			return fmt.Errorf("%s, line %d: %w", file, e.Line, err)
		}
		return nil
	})
	if err == nil {
		err = b.Set("@", "@")
	}
	if err != nil {
		b.Abort()
		return err
	}
	if err := b.Commit(); err != nil {
		return err
	}
	if o.verbose > 0 {
		fmt.Fprintf(s.err, "%s: %s: %d aliases\n", s.name, maps.DBPath(name), n)
	}
	return nil
}

func known(typ string) bool {
	for _, t := range maps.Types() {
		if t == typ {
			return true
		}
	}
	return false
}

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
