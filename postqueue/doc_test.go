package postqueue

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// Every main.cf parameter postqueue reads is in its manual.
func TestDocNamesParameters(t *testing.T) {
	doc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob("*.go")
	read := regexp.MustCompile(`\br\.(?:String|List|Int|Int64|Bool|Duration|Size)\("([a-z0-9_]+)"\)`)
	n := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range read.FindAllStringSubmatch(string(src), -1) {
			n++
			if !regexp.MustCompile(`\b` + m[1] + `\b`).Match(doc) {
				t.Errorf("%s reads %s, which doc.go does not describe", f, m[1])
			}
		}
	}
	if n == 0 {
		t.Error("no parameter reads found: update this test")
	}
}
