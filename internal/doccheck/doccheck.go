// Package doccheck tests that a program's manual, its doc.go, names every
// main.cf parameter the program reads, and that each of those is a
// registered parameter (so postconf -d lists it).
//
// A program's tests call it in one line:
//
//	func TestDocNamesEveryParameter(t *testing.T) { doccheck.Params(t, "doc.go", "main.go") }
//
// The Go files are read as syntax, not run. A parameter counts as read
// when its name is
//
//   - the argument of a reader call: r.String("name"), r.Int(…),
//     c.IsSet(…) and the other methods in readers below;
//   - such an argument built as p + "suffix", or held in a variable, where
//     p or the variable is given string literals in the same file (each
//     value counts);
//   - any other string literal that is a registered parameter (the tables
//     of name and field some programs read in a loop), unless it is a
//     piece of a longer name built with +.
package doccheck

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/postern-mta/postern/internal/config"
)

// readers are the methods of config.Reader and config.Config that take a
// parameter name.
var readers = map[string]bool{
	"String": true, "Bool": true, "Int": true, "Int64": true, "Size": true,
	"Duration": true, "List": true, "First": true,
	"Get": true, "Lookup": true, "IsSet": true, "Raw": true, "Expand": true,
}

// paramShape is what a parameter name looks like.
var paramShape = regexp.MustCompile(`^[a-z][a-z0-9]*(?:_[a-z0-9]+)+$`)

// Manual describes one program's check.
type Manual struct {
	// Doc is the manual; "" is doc.go.
	Doc string
	// Files are the Go files that read parameters, or glob patterns such
	// as "*.go" (test files left out); none is main.go.
	Files []string
	// Min is how many parameters at least the files read: finding fewer
	// means the extraction no longer sees how the program reads them.
	// Zero is one.
	Min int
	// Mirrors maps a prefix to the one the manual documents it under: with
	// {"lmtp_": "smtp_"}, lmtp_foo is documented when smtp_foo is.
	Mirrors map[string]string
	// Section, when set ("# Configuration"), is the heading of the part
	// of the manual that must name each parameter: from it to the next
	// heading.
	Section string
}

// Params checks that doc names every parameter that files (main.go when
// none) read and that each is registered.
func Params(t testing.TB, doc string, files ...string) {
	t.Helper()
	Manual{Doc: doc, Files: files}.Check(t)
}

// Check runs the check and reports every parameter that is not
// registered or not in the manual.
func (m Manual) Check(t testing.TB) {
	t.Helper()
	doc := m.Doc
	if doc == "" {
		doc = "doc.go"
	}
	data, err := os.ReadFile(doc)
	if err != nil {
		t.Fatalf("read the manual: %v", err)
	}
	manual := string(data)
	if m.Section != "" {
		var ok bool
		if manual, ok = section(manual, m.Section); !ok {
			t.Fatalf("%s has no %q section", doc, m.Section)
		}
		doc += "'s " + m.Section + " section"
	}
	files, err := expand(m.Files)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]string{} // name → file that reads it
	for _, f := range files {
		read, err := Read(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range read {
			if _, ok := names[n]; !ok {
				names[n] = f
			}
		}
	}
	if min := max(m.Min, 1); len(names) < min {
		t.Fatalf("found only %d parameters read in %s (want at least %d): update doccheck or this test", len(names), strings.Join(files, ", "), min)
	}
	for _, n := range sortedKeys(names) {
		if _, ok := config.LookupParam(n); !ok {
			t.Errorf("%s reads %s, which is not a registered parameter", names[n], n)
		}
		if !m.documented(manual, n) {
			t.Errorf("%s reads %s, which %s does not describe", names[n], n, doc)
		}
	}
}

// documented reports whether the manual names n, or the name it mirrors.
func (m Manual) documented(manual, n string) bool {
	if hasWord(manual, n) {
		return true
	}
	for from, to := range m.Mirrors {
		if rest, ok := strings.CutPrefix(n, from); ok && hasWord(manual, to+rest) {
			return true
		}
	}
	return false
}

// section returns the text under heading up to the next heading of the
// doc comment ("// # …").
func section(manual, heading string) (string, bool) {
	_, rest, ok := strings.Cut(manual, heading+"\n")
	if !ok {
		return "", false
	}
	if i := strings.Index(rest, "\n// # "); i >= 0 {
		rest = rest[:i]
	}
	return rest, true
}

func hasWord(text, word string) bool {
	return regexp.MustCompile(`\b` + regexp.QuoteMeta(word) + `\b`).MatchString(text)
}

// expand turns the patterns into file names, main.go when there are none.
func expand(patterns []string) ([]string, error) {
	if len(patterns) == 0 {
		return []string{"main.go"}, nil
	}
	var files []string
	for _, p := range patterns {
		if !strings.ContainsAny(p, "*?[") {
			files = append(files, p)
			continue
		}
		m, err := filepath.Glob(p)
		if err != nil {
			return nil, fmt.Errorf("files %q: %w", p, err)
		}
		for _, f := range m {
			if !strings.HasSuffix(f, "_test.go") {
				files = append(files, f)
			}
		}
	}
	return files, nil
}

// Read returns the parameter names the Go file reads, sorted, each once.
func Read(file string) ([]string, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, file, nil, 0)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", file, err)
	}
	values := literalValues(f)
	names := map[string]bool{}
	parts := map[*ast.BasicLit]bool{} // pieces of a name built with +
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.BinaryExpr:
			if n.Op == token.ADD {
				for _, x := range []ast.Expr{n.X, n.Y} {
					if lit, ok := x.(*ast.BasicLit); ok {
						parts[lit] = true
					}
				}
			}
		case *ast.CallExpr:
			sel, ok := n.Fun.(*ast.SelectorExpr)
			if !ok || !readers[sel.Sel.Name] || len(n.Args) != 1 {
				return true
			}
			for _, s := range stringsOf(n.Args[0], values) {
				if paramShape.MatchString(s) {
					names[s] = true
				}
			}
		case *ast.BasicLit:
			if s, ok := literal(n); ok && !parts[n] && paramShape.MatchString(s) {
				if _, known := config.LookupParam(s); known {
					names[s] = true
				}
			}
		}
		return true
	})
	return sortedKeys(names), nil
}

// literalValues maps each variable name of the file to the string
// literals assigned to it anywhere (names are not scoped: a test helper
// may be loose).
func literalValues(f *ast.File) map[string][]string {
	values := map[string][]string{}
	add := func(lhs []ast.Expr, rhs []ast.Expr) {
		if len(lhs) != len(rhs) {
			return
		}
		for i, l := range lhs {
			id, ok := l.(*ast.Ident)
			if !ok {
				continue
			}
			if s, ok := literal(rhs[i]); ok {
				values[id.Name] = append(values[id.Name], s)
			}
		}
	}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.AssignStmt:
			add(n.Lhs, n.Rhs)
		case *ast.ValueSpec:
			lhs := make([]ast.Expr, len(n.Names))
			for i, id := range n.Names {
				lhs[i] = id
			}
			add(lhs, n.Values)
		}
		return true
	})
	return values
}

// stringsOf returns the values e may have: a literal, a variable given
// literals, or the sum of two such.
func stringsOf(e ast.Expr, values map[string][]string) []string {
	switch e := e.(type) {
	case *ast.BasicLit:
		if s, ok := literal(e); ok {
			return []string{s}
		}
	case *ast.Ident:
		return values[e.Name]
	case *ast.ParenExpr:
		return stringsOf(e.X, values)
	case *ast.BinaryExpr:
		if e.Op != token.ADD {
			return nil
		}
		var out []string
		for _, x := range stringsOf(e.X, values) {
			for _, y := range stringsOf(e.Y, values) {
				out = append(out, x+y)
			}
		}
		return out
	}
	return nil
}

func literal(e ast.Expr) (string, bool) {
	lit, ok := e.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(lit.Value)
	return s, err == nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
