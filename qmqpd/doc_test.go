package qmqpd

import (
	"os"
	"regexp"
	"testing"
)

// TestDocNamesEveryParameter: the manual (doc.go) lists every parameter
// main.go reads.
func TestDocNamesEveryParameter(t *testing.T) {
	checkDoc(t, "main.go", "doc.go")
}

func checkDoc(t *testing.T, code, doc string) {
	src, err := os.ReadFile(code)
	if err != nil {
		t.Fatal(err)
	}
	manual, err := os.ReadFile(doc)
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`(?:String|Bool|Int|Int64|Duration|List|Get|Lookup|IsSet)\("([a-z0-9_]+)"\)`)
	for _, m := range re.FindAllStringSubmatch(string(src), -1) {
		if !regexp.MustCompile(`\b` + m[1] + `\b`).Match(manual) {
			t.Errorf("%s reads %s, which %s does not mention", code, m[1], doc)
		}
	}
}
