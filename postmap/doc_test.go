package postmap

import (
	"os"
	"strings"
	"testing"
)

// TestDocNamesParameters: every main.cf parameter postmap reads is in
// its manual.
func TestDocNamesParameters(t *testing.T) {
	doc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("main.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"default_database_type", "smtputf8_enable"} {
		if !strings.Contains(string(src), `"`+p+`"`) {
			t.Errorf("main.go no longer reads %s: update this test", p)
		}
		if !strings.Contains(string(doc), p) {
			t.Errorf("doc.go does not describe %s", p)
		}
	}
}
