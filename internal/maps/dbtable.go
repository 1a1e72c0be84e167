package maps

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// Layout of a compiled table file (FILE.db): bucket "table" holds the
// entries, key → value, exactly as built (folded keys when built without
// -f); bucket "meta" holds "format" = dbFormat.
var (
	bucketTable = []byte("table")
	bucketMeta  = []byte("meta")
	metaFormat  = []byte("format")
	dbFormat    = []byte("postern-table/1")
)

// dbTable serves a compiled table from a read-only bbolt view that stays
// open across lookups and is replaced when postmap renames a new FILE.db
// into place.
type dbTable struct {
	spec string
	path string
	opt  Options
	r    *reloader[*bolt.DB]
}

var (
	_ Table  = (*dbTable)(nil)
	_ Walker = (*dbTable)(nil)
	_ Source = (*dbTable)(nil)
)

func openCompiled(spec, _, name string, opt Options) (Table, error) {
	path := DBPath(name)
	r, err := newReloader(path, describe(spec), opt, openDBFile, func(db *bolt.DB) { _ = db.Close() })
	if err != nil {
		return nil, dbOpenError(path, err)
	}
	return &dbTable{spec: spec, path: path, opt: opt, r: r}, nil
}

// errNotTable says a file is not a table postmap built.
var errNotTable = errors.New("not a Postern table (rebuild it with postmap or postalias)")

// dbOpenError phrases a failure to open FILE.db the Postfix way:
// "open database /etc/postern/access.db: no such file or directory".
func dbOpenError(path string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return fmt.Errorf("open database %s: %w", path, err)
}

// openDBFile opens FILE.db read-only. Several processes may hold it
// open at once (shared flock); only builders write, and they write a
// temporary file, so the lock wait is short.
func openDBFile(path string) (*bolt.DB, error) {
	db, err := bolt.Open(path, 0, &bolt.Options{ReadOnly: true, Timeout: 2 * time.Second, NoStatistics: true})
	if err != nil {
		if errors.Is(err, berrors.ErrInvalid) || errors.Is(err, berrors.ErrVersionMismatch) || errors.Is(err, berrors.ErrChecksum) {
			return nil, fmt.Errorf("%w: %v", errNotTable, err)
		}
		return nil, err
	}
	if err := checkFormat(db); err != nil {
		_ = db.Close()
		return nil, err
	}
	return db, nil
}

func checkFormat(db *bolt.DB) error { return db.View(checkFormatTx) }

func (t *dbTable) Name() string       { return t.spec }
func (t *dbTable) SourceFile() string { return t.path }

func (t *dbTable) Lookup(ctx context.Context, key string) (string, bool, error) {
	if err := ctx.Err(); err != nil {
		return "", false, err
	}
	k := []byte(t.opt.fold(key))
	var (
		value string
		found bool
	)
	get := func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketTable)
		if b == nil {
			return errNotTable
		}
		if v := b.Get(k); v != nil {
			value, found = string(v), true
		}
		return nil
	}
	// A reload may close the snapshot we picked between picking it and
	// using it; the next pick is the new one.
	for range 3 {
		err := t.r.current().val.View(get)
		if errors.Is(err, berrors.ErrDatabaseNotOpen) {
			continue
		}
		if err != nil {
			return "", false, fmt.Errorf("table %s: lookup %q: %w", t.spec, key, err)
		}
		return value, found, nil
	}
	return "", false, fmt.Errorf("table %s: lookup %q: table is being reloaded", t.spec, key)
}

// Walk lists the entries in key order (bbolt's order: bytewise).
func (t *dbTable) Walk(ctx context.Context, fn func(key, value string) error) error {
	for range 3 {
		err := t.r.current().val.View(func(tx *bolt.Tx) error {
			b := tx.Bucket(bucketTable)
			if b == nil {
				return errNotTable
			}
			return b.ForEach(func(k, v []byte) error {
				if err := ctx.Err(); err != nil {
					return err
				}
				return fn(string(k), string(v))
			})
		})
		if errors.Is(err, berrors.ErrDatabaseNotOpen) {
			continue
		}
		return err
	}
	return fmt.Errorf("table %s: table is being reloaded", t.spec)
}
