package maps

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strings"
)

// The files unix: tables read; variables so tests can point elsewhere.
var (
	passwdFile = "/etc/passwd"
	groupFile  = "/etc/group"
)

// unixTable is unix:passwd.byname (value: the passwd line,
// "name:passwd:uid:gid:gecos:home:shell") or unix:group.byname (value:
// "name:passwd:gid:member,member"). Postern reads the files directly, so
// users known only to NSS modules (LDAP, sssd) are not seen; the files
// are reread when they change, like any other table.
type unixTable struct {
	spec, path string
	opt        Options
	r          *reloader[*textData]
}

var (
	_ Table  = (*unixTable)(nil)
	_ Walker = (*unixTable)(nil)
	_ Source = (*unixTable)(nil)
)

func openUnix(spec, _, name string, opt Options) (Table, error) {
	var path string
	switch name {
	case "passwd.byname":
		path = passwdFile
	case "group.byname":
		path = groupFile
	default:
		return nil, fmt.Errorf("unknown table: unix:%s (known: passwd.byname, group.byname)", name)
	}
	r, err := newReloader(path, describe(spec), opt, loadColonFile, nil)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, unwrapPath(err))
	}
	return &unixTable{spec: spec, path: path, opt: opt, r: r}, nil
}

// loadColonFile reads a passwd(5)/group(5) file: one entry per line, the
// name before the first colon; the first entry of a name wins, as with
// getpwnam. Comments, blank lines and NIS "+"/"-" lines are skipped.
func loadColonFile(path string) (*textData, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, unwrapPath(err))
	}
	defer f.Close()
	d := &textData{m: map[string]string{}}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 4096), MaxLineLength)
	for sc.Scan() {
		line := sc.Text()
		name, _, ok := strings.Cut(line, ":")
		if !ok || name == "" || name[0] == '#' || name[0] == '+' || name[0] == '-' {
			continue
		}
		if _, dup := d.m[name]; dup {
			continue
		}
		if len(d.order) >= MaxTextEntries {
			return nil, fmt.Errorf("%s: more than %d entries", path, MaxTextEntries)
		}
		d.m[name] = line
		d.order = append(d.order, name)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return d, nil
}

func (t *unixTable) Name() string       { return t.spec }
func (t *unixTable) SourceFile() string { return t.path }

// Lookup folds the key when asked, as Postfix's unix: table does: local
// user names are looked up in lower case.
func (t *unixTable) Lookup(ctx context.Context, key string) (string, bool, error) {
	if err := ctx.Err(); err != nil {
		return "", false, err
	}
	v, ok := t.r.current().val.m[t.opt.fold(key)]
	return v, ok, nil
}

func (t *unixTable) Walk(ctx context.Context, fn func(key, value string) error) error {
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
