package postmap

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/postern-mta/postern/internal/maps"
)

const usageText = "usage: postmap [-NfinoprsuUvw] [-c config_dir] [-d key] [-q key] [map_type:]file..."

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
	noUTF8      bool
	forceUTF8   bool
	nul, noNul  bool
	verbose     int
	unsupported struct{ body, header, mime, files bool }
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
// non-empty message as "postmap: fatal: …".
type exitError struct {
	status int
	msg    string
}

func (e *exitError) Error() string   { return e.msg }
func (e *exitError) ExitStatus() int { return e.status }

// notFound is the silent exit 1 of a query or delete that found nothing.
var notFound = &exitError{status: 1}

// queryFailed is a -q failure other than "not found": exit status 2.
func queryFailed(err error) error { return &exitError{status: 2, msg: err.Error()} }

func run(ctx context.Context, s streams, cfg Config, o options, args []string) error {
	if ctx == nil {
		ctx = context.Background()
	}
	switch {
	case o.unsupported.body:
		return errors.New("option -b (message body queries) is not supported")
	case o.unsupported.header:
		return errors.New("option -h (message header queries) is not supported")
	case o.unsupported.mime:
		return errors.New("option -m (MIME parsing of queries) is not supported")
	case o.unsupported.files:
		return errors.New("option -F (file-valued entries) is not supported")
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
	if len(args) == 0 {
		return &exitError{status: 1, msg: usageText}
	}
	specs := make([]string, len(args))
	for i, a := range args {
		typ, name, err := maps.SplitSpec(a, cfg.DefaultType)
		if err != nil {
			return err
		}
		specs[i] = typ + ":" + name
	}
	out := bufio.NewWriter(s.out)
	defer out.Flush()
	opt := maps.Options{FoldCase: !o.noFold, NoReload: true, Warn: func(m string) { s.warnf("%s", m) }}
	switch {
	case o.query == "-":
		return queryStdin(ctx, s, out, specs, opt)
	case o.query != "":
		return query(ctx, s, out, specs, o.query, opt)
	case o.del != "":
		return deleteKeys(s, specs, o)
	case o.sequence:
		return sequence(ctx, out, specs, opt)
	}
	for _, spec := range specs {
		if err := build(s, cfg, o, spec); err != nil {
			return err
		}
	}
	return nil
}

// openTable opens a table for a query.
func openTable(spec string, opt maps.Options) (maps.Table, error) {
	return maps.Open(spec, opt)
}

// query prints the value of key in the first table that has it.
func query(ctx context.Context, s streams, out *bufio.Writer, specs []string, key string, opt maps.Options) error {
	for _, spec := range specs {
		t, err := openTable(spec, opt)
		if err != nil {
			return queryFailed(err)
		}
		v, found, err := t.Lookup(ctx, key)
		if err != nil {
			return queryFailed(err)
		}
		if found {
			warnEmpty(s, spec, key, v)
			fmt.Fprintln(out, v)
			return nil
		}
	}
	return notFound
}

// queryStdin looks up every line of standard input and prints
// "key<TAB>value" for those found; exit status 0 when any was.
func queryStdin(ctx context.Context, s streams, out *bufio.Writer, specs []string, opt maps.Options) error {
	tables := make([]maps.Table, len(specs))
	found := false
	sc := bufio.NewScanner(s.in)
	sc.Buffer(make([]byte, 0, 4096), maps.MaxLineLength)
	for sc.Scan() {
		key := sc.Text()
		for i, spec := range specs {
			if tables[i] == nil { // opened on first use, as Postfix does
				t, err := openTable(spec, opt)
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
				warnEmpty(s, spec, key, v)
				fmt.Fprintf(out, "%s\t%s\n", key, v)
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

func warnEmpty(s streams, spec, key, v string) {
	if v == "" {
		s.warnf("table %s: key %s: empty string result is not allowed", spec, key)
		s.warnf("table %s should return NO RESULT in case of NOT FOUND", spec)
	}
}

// sequence prints every entry of every table as "key<TAB>value".
func sequence(ctx context.Context, out *bufio.Writer, specs []string, opt maps.Options) error {
	for _, spec := range specs {
		t, err := openTable(spec, opt)
		if err != nil {
			return err
		}
		w, ok := t.(maps.Walker)
		if !ok {
			return fmt.Errorf("table %s: sequence operation is not supported", spec)
		}
		err = w.Walk(ctx, func(k, v string) error {
			_, err := fmt.Fprintf(out, "%s\t%s\n", k, v)
			return err
		})
		if err != nil {
			return fmt.Errorf("table %s: sequence error: %w", spec, err)
		}
	}
	return nil
}

// deleteKeys removes the -d key (or every key on standard input) from
// each table; exit status 0 when any was found.
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
			b.Abort() // nothing changed: leave the file alone
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

// build compiles the source of spec into FILE.db, or with -i adds the
// entries on standard input to it.
func build(s streams, cfg Config, o options, spec string) error {
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
	src := s.in
	file := "stdin"
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
	sopt := maps.SourceOptions{File: file, CheckUTF8: cfg.UTF8 && !o.noUTF8, Warn: bopt.Warn}
	n := 0
	err = maps.ParseSource(bufio.NewReaderSize(src, 64<<10), sopt, func(e maps.Entry) error {
		n++
		if err := b.Add(e.Key, e.Value); err != nil {
			return fmt.Errorf("%s, line %d: %w", file, e.Line, err)
		}
		return nil
	})
	if err != nil {
		b.Abort()
		return err
	}
	if err := b.Commit(); err != nil {
		return err
	}
	if o.verbose > 0 {
		fmt.Fprintf(s.err, "%s: %s: %d entries\n", s.name, maps.DBPath(name), n)
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
