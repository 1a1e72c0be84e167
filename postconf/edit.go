package postconf

import (
	"errors"
	"path/filepath"

	"github.com/postern-mta/postern/internal/config"
)

// editMain changes main.cf: -e name=value ..., -X name ..., -# name ...
func (r *run) editMain(dir string) error {
	if len(r.args) == 0 {
		return errors.New("no parameters to change; " + usage)
	}
	var changes []config.Change
	for _, a := range r.args {
		switch {
		case r.opt.edit:
			ch, err := config.ParseChange(a)
			if err != nil {
				return err
			}
			changes = append(changes, ch)
		case r.opt.exclude:
			changes = append(changes, config.Change{Name: a, Remove: true})
		default:
			changes = append(changes, config.Change{Name: a, Comment: true})
		}
	}
	file := filepath.Join(dir, "main.cf")
	multiple, err := config.EditMain(file, changes)
	for _, n := range multiple {
		r.warn("%s: multiple entries for %q", file, n)
	}
	return err
}
