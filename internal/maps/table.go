package maps

import (
	"context"
	"fmt"
	"log"
	"strings"
)

// Table is one lookup table. Lookup separates three outcomes: found,
// not found (found=false, err=nil) and a temporary failure (err != nil:
// the caller answers 4xx or defers — never "not found").
type Table interface {
	Lookup(ctx context.Context, key string) (value string, found bool, err error)
	Name() string // "hash:/etc/postern/access" as configured
}

// Pattern is implemented by tables whose keys are patterns (regexp:,
// pcre:, cidr:, and lists made only of those). Such tables are queried
// with whole strings: the address lookups in this package never ask them
// for a partial key such as "@domain" or a parent domain.
type Pattern interface{ IsPattern() bool }

// Source is implemented by tables that read a file. SourceFile returns
// the file whose contents the table serves: FILE.db for compiled tables
// (hash:FILE → FILE.db, as Postfix uses the owner of the database file),
// the file itself for texthash:, regexp:, pcre:, cidr: and unix:.
// local(8) uses its owner for :include: files and commands.
type Source interface{ SourceFile() string }

// Walker is implemented by tables whose entries can be listed (postmap
// -s). Walk calls fn for every entry, in the table's own order, and stops
// at the first error fn returns. Tables that cannot list their entries
// (static:, fail:, unionmap:, pipemap:) do not implement it.
type Walker interface {
	Walk(ctx context.Context, fn func(key, value string) error) error
}

// Options say how to open a table.
//
// The zero Options does not fold case. Daemons and postmap without -f
// want DefaultOptions(), which folds, as Postfix does by default.
type Options struct {
	// FoldCase folds keys of fixed-key tables (hash, texthash, inline, …)
	// to lower case, at build and at query time (default true; postmap -f
	// turns it off). Pattern tables ignore it: their own i flag decides.
	FoldCase bool
	// Warn receives warnings about bad table lines, reload failures and
	// the like, without the "warning: " prefix. Nil logs them with the
	// standard logger.
	Warn func(msg string)
	// NoReload opens the table once, without watching its file and
	// without sharing it through the cache; for one-shot commands such as
	// "postmap -q".
	NoReload bool
}

// DefaultOptions are the options daemons use: keys are folded to lower
// case.
func DefaultOptions() Options { return Options{FoldCase: true} }

func (o Options) warnf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if o.Warn != nil {
		o.Warn(msg)
		return
	}
	log.Print("warning: " + msg)
}

func (o Options) fold(key string) string {
	if o.FoldCase {
		return foldKey(key)
	}
	return key
}

// foldKey lower-cases a key; plain ASCII keys, the common case, take a
// fast path that allocates only when something changes.
func foldKey(s string) string {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 {
			return strings.ToLower(s)
		}
		if 'A' <= c && c <= 'Z' {
			return strings.ToLower(s)
		}
	}
	return s
}

// IsPattern reports whether t is a pattern table (see Pattern).
func IsPattern(t Table) bool {
	p, ok := t.(Pattern)
	return ok && p.IsPattern()
}

// Limits on what a table may hold. Inputs past them are refused with an
// error naming the file and line rather than read into memory unbounded.
const (
	// MaxLineLength is the longest logical line (continuations joined)
	// in any table source file.
	MaxLineLength = 64 << 10
	// MaxPatternRules is the most rules a regexp: or pcre: table holds.
	MaxPatternRules = 20000
	// MaxCIDRRules is the most rules a cidr: table holds.
	MaxCIDRRules = 200000
	// MaxTextEntries is the most entries a texthash: table holds in
	// memory (a bigger table belongs in hash:).
	MaxTextEntries = 2000000
	// MaxNesting is the deepest if/endif nesting in regexp:, pcre: and
	// cidr: tables.
	MaxNesting = 100
)
