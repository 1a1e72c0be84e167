package maps

import (
	"fmt"
	"sort"
	"strings"
	"sync"
)

// opener opens one table type. spec is the whole specification as
// configured (for Name), name the part after "type:".
type opener func(spec, typ, name string, opt Options) (Table, error)

// registry maps a table type to its opener. It is filled in init
// functions so that the composite types (unionmap:, pipemap:), which
// call Open themselves, do not form an initialization cycle.
var registry = map[string]opener{}

func init() {
	for _, t := range compiledTypes {
		registry[t] = openCompiled
	}
	registry["texthash"] = openTextHash
	registry["regexp"] = openRegexp
	registry["pcre"] = openRegexp
	registry["cidr"] = openCIDR
	registry["inline"] = openInline
	registry["static"] = openStatic
	registry["fail"] = openFail
	registry["environ"] = openEnviron
	registry["unix"] = openUnix
	registry["unionmap"] = openComposite
	registry["pipemap"] = openComposite
}

// compiledTypes are the types postmap and postalias build. All of them
// are stored the same way: one bbolt file named FILE.db.
var compiledTypes = []string{"btree", "cdb", "dbm", "hash", "lmdb"}

// Compiled reports whether tables of type typ are built by postmap into
// FILE.db (hash, btree, lmdb, cdb, dbm).
func Compiled(typ string) bool {
	for _, t := range compiledTypes {
		if t == typ {
			return true
		}
	}
	return false
}

// DBPath returns the file a compiled table named name lives in: always
// name + ".db", whatever the type.
func DBPath(name string) string { return name + ".db" }

// Types returns the supported table type names, sorted, for postconf -m.
// "proxy" is listed because "proxy:type:name" is accepted (the prefix is
// ignored: Postern daemons open tables themselves).
func Types() []string {
	out := []string{"proxy"}
	for t := range registry {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// SplitSpec splits "type:name" at the first colon, after dropping any
// "proxy:" prefixes. A spec without a colon gets defaultType, as postmap
// does with a bare file name; with defaultType "" it is an error.
func SplitSpec(spec, defaultType string) (typ, name string, err error) {
	s := strings.TrimSpace(spec)
	for strings.HasPrefix(s, "proxy:") {
		s = s[len("proxy:"):]
	}
	typ, name, ok := strings.Cut(s, ":")
	if !ok {
		if defaultType == "" {
			return "", "", fmt.Errorf("open dictionary: expecting \"type:name\" form instead of %q", spec)
		}
		return defaultType, s, nil
	}
	if typ == "" {
		return "", "", fmt.Errorf("open dictionary: expecting \"type:name\" form instead of %q", spec)
	}
	return typ, name, nil
}

// Open opens the table named by spec ("type:name"; a "proxy:" prefix is
// dropped). An unknown type is the error "unsupported dictionary type:
// foo".
//
// Unless opt.NoReload is set, opened tables are cached by spec and case
// folding, so every caller in a process shares one copy, and they reload
// themselves when their file changes: fsnotify on the file's directory
// marks them stale, and a stat at most once a second on lookup is the
// backstop. A reload builds the new version aside and swaps it in
// atomically: a reader never sees half a table. A reload that fails
// (syntax error, missing file) keeps the previous version and warns.
// The first opener's Warn function is the one a cached table keeps.
//
// A table whose file is missing or unreadable does not make Open fail
// (unless NoReload): it warns once and returns a table whose lookups fail
// temporarily until the file appears, as Postfix's daemons do with an
// /etc/aliases.db that was never built.
func Open(spec string, opt Options) (Table, error) {
	spec = strings.TrimSpace(spec)
	if opt.NoReload {
		return openUncached(spec, opt)
	}
	key := cacheKey{spec: spec, fold: opt.FoldCase}
	cache.mu.Lock()
	t, ok := cache.tables[key]
	cache.mu.Unlock()
	if ok {
		return t, nil
	}
	// Open without holding the lock: composite tables open their members
	// through Open, and a big table may take a while. Two callers racing
	// for the same spec both open it; the first stored wins.
	t, err := openUncached(spec, opt)
	if err != nil {
		if !isUnavailable(err) {
			return nil, err
		}
		t = newUnavailable(spec, opt, err)
	}
	cache.mu.Lock()
	defer cache.mu.Unlock()
	if old, ok := cache.tables[key]; ok {
		return old, nil
	}
	cache.tables[key] = t
	return t, nil
}

type cacheKey struct {
	spec string
	fold bool
}

var cache = struct {
	mu     sync.Mutex
	tables map[cacheKey]Table
}{tables: map[cacheKey]Table{}}

func openUncached(spec string, opt Options) (Table, error) {
	typ, name, err := SplitSpec(spec, "")
	if err != nil {
		return nil, err
	}
	op, ok := registry[typ]
	if !ok {
		return nil, fmt.Errorf("unsupported dictionary type: %s", typ)
	}
	return op(spec, typ, name, opt)
}

// splitTop splits s at commas and whitespace that are not inside braces,
// the way Postfix splits table lists: "hash:/a, inline:{a=b, c=d}" gives
// "hash:/a" and "inline:{a=b, c=d}". Unbalanced braces are an error.
func splitTop(s string) ([]string, error) {
	var out []string
	depth, start := 0, -1
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '{':
			depth++
		case c == '}':
			depth--
			if depth < 0 {
				return nil, fmt.Errorf("unbalanced '}' in %q", s)
			}
		case depth == 0 && (c == ',' || isSpace(c)):
			if start >= 0 {
				out = append(out, s[start:i])
				start = -1
			}
			continue
		}
		if start < 0 {
			start = i
		}
	}
	if depth != 0 {
		return nil, fmt.Errorf("missing '}' in %q", s)
	}
	if start >= 0 {
		out = append(out, s[start:])
	}
	return out, nil
}

// unbrace returns the text inside "{...}", trimmed; ok is false when s is
// not braced.
func unbrace(s string) (inner string, ok bool) {
	s = trimSpace(s)
	if len(s) < 2 || s[0] != '{' || s[len(s)-1] != '}' {
		return s, false
	}
	return trimSpace(s[1 : len(s)-1]), true
}
