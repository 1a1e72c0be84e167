package postconf

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/postern-mta/postern/internal/config"
	"github.com/postern-mta/postern/internal/maps"
)

const usage = "usage: postconf [-c config_dir] [-d (parameter defaults)] [-e (edit configuration)] [-f (fold lines)] [-F (master.cf fields)] [-h (no names)] [-H (no values)] [-l (lock types)] [-m (map types)] [-M (master.cf)] [-n (non-default parameters)] [-o name=value (override parameter value)] [-P (master.cf parameters)] [-v (verbose)] [-x (expand parameter values)] [-X (exclude)] [-# (comment-out)] [name...]"

// tableTypes lists the lookup table types for -m. It is a variable so a
// test can replace it.
var tableTypes = maps.Types

// lockTypes are the mailbox locks Postern can take, for -l.
var lockTypes = []string{"flock", "fcntl", "dotlock"}

// options are the command line.
type options struct {
	configDir  string
	defaults   bool // -d
	nonDefault bool // -n
	hideNames  bool // -h
	hideValues bool // -H
	expand     bool // -x
	fold       bool // -f
	edit       bool // -e
	exclude    bool // -X
	comment    bool // -#
	master     bool // -M
	fields     bool // -F
	params     bool // -P
	tables     bool // -m
	locks      bool // -l
	verbose    bool // -v
	overrides  []string
}

// reported is an error whose message has been printed already.
type reported struct{}

func (reported) Error() string { return "" }

// ExitStatus tells cmd/postern to exit 1 without printing anything more.
func (reported) ExitStatus() int { return 1 }

// Command returns the postconf command (see the package documentation). It
// prints its own "postconf: fatal: …" and "postconf: warning: …" messages
// on standard error, and returns a non-nil error when the exit status
// must be 1.
func Command() *cobra.Command {
	var opt options
	cmd := &cobra.Command{
		Use:           "postconf [-dhHnxfMFPml] [-e|-X|-#] [-c config_dir] [-o name=value] [name...]",
		Short:         "show or change Postern's configuration",
		SilenceErrors: true,
		SilenceUsage:  true,
		RunE: func(cmd *cobra.Command, args []string) error {
			r := &run{opt: opt, args: args, out: cmd.OutOrStdout(), errw: cmd.ErrOrStderr()}
			if err := r.main(); err != nil {
				if !errors.Is(err, errReported) {
					r.fatal(err)
				}
				return reported{}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&opt.configDir, "config", "c", "", "configuration `directory` (default $MAIL_CONFIG or "+config.DefaultDir+")")
	f.BoolVarP(&opt.defaults, "defaults", "d", false, "show default values")
	f.BoolVarP(&opt.nonDefault, "non-default", "n", false, "show only parameters set in main.cf")
	f.BoolVarP(&opt.hideNames, "no-names", "h", false, "show values without names")
	f.BoolVarP(&opt.hideValues, "no-values", "H", false, "show names without values")
	f.BoolVarP(&opt.expand, "expand", "x", false, "expand $name references in values")
	f.BoolVarP(&opt.fold, "fold", "f", false, "fold long lines")
	f.BoolVarP(&opt.edit, "edit", "e", false, "set parameters in main.cf: name=value ...")
	f.BoolVarP(&opt.exclude, "exclude", "X", false, "remove parameters from main.cf: name ...")
	f.BoolVarP(&opt.comment, "comment-out", "#", false, "comment out parameters in main.cf: name ...")
	f.BoolVarP(&opt.master, "master", "M", false, "show master.cf services: [service[/type]] ...")
	f.BoolVarP(&opt.fields, "master-fields", "F", false, "show master.cf fields: [service[/type[/field]]] ...")
	f.BoolVarP(&opt.params, "master-params", "P", false, "show master.cf -o parameters: [service[/type[/name]]] ...")
	f.BoolVarP(&opt.tables, "map-types", "m", false, "list the lookup table types")
	f.BoolVarP(&opt.locks, "lock-types", "l", false, "list the mailbox lock types")
	f.BoolVarP(&opt.verbose, "verbose", "v", false, "ignored")
	f.StringArrayVarP(&opt.overrides, "override", "o", nil, "override a parameter: `name=value`")
	// -h hides names, as in Postfix: help only as --help.
	f.Bool("help", false, "show this help")
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		fmt.Fprintf(c.ErrOrStderr(), "postconf: fatal: %v\npostconf: fatal: %s\n", err, usage)
		return reported{}
	})
	return cmd
}

// errReported marks an error whose message has been printed.
var errReported = errors.New("reported")

// run is one postconf invocation.
type run struct {
	opt  options
	args []string
	out  io.Writer
	errw io.Writer
}

func (r *run) warn(format string, args ...any) {
	fmt.Fprintf(r.errw, "postconf: warning: "+format+"\n", args...)
}

func (r *run) fatal(err error) {
	fmt.Fprintf(r.errw, "postconf: fatal: %v\n", err)
}

func (r *run) main() error {
	o := r.opt
	modes := 0
	for _, b := range []bool{o.edit || o.exclude || o.comment, o.master || o.fields || o.params, o.tables, o.locks} {
		if b {
			modes++
		}
	}
	if modes > 1 || count(o.edit, o.exclude, o.comment) > 1 || count(o.master, o.fields, o.params) > 1 {
		if (o.edit || o.exclude || o.comment) && (o.master || o.fields || o.params) {
			return errors.New("editing master.cf (-e, -X or -# with -M, -F or -P) is not supported; edit master.cf with a text editor")
		}
		return errors.New("specify one of -e, -X, -#, -M, -F, -P, -m, -l")
	}
	if o.defaults && o.nonDefault {
		return errors.New("specify one of -d -n")
	}
	if o.hideNames && o.hideValues {
		return errors.New("specify one of -h -H")
	}
	dir := config.ResolveDir(o.configDir)
	switch {
	case o.edit || o.exclude || o.comment:
		return r.editMain(dir)
	case o.tables:
		return r.list(tableTypes())
	case o.locks:
		return r.list(lockTypes)
	case o.master || o.fields || o.params:
		return r.showMaster(dir)
	}
	return r.showParams(dir)
}

func count(bs ...bool) int {
	n := 0
	for _, b := range bs {
		if b {
			n++
		}
	}
	return n
}

func (r *run) list(items []string) error {
	for _, it := range items {
		fmt.Fprintln(r.out, it)
	}
	return nil
}

// overrides reads the -o name=value arguments.
func (r *run) overrides() ([]config.Option, error) {
	var opts []config.Option
	for _, a := range r.opt.overrides {
		name, value, ok := strings.Cut(a, "=")
		name = strings.TrimSpace(name)
		if !ok || name == "" {
			return nil, fmt.Errorf("-o %s: expected name=value", a)
		}
		opts = append(opts, config.Option{Name: name, Value: strings.TrimSpace(value)})
	}
	return opts, nil
}
