package qmgr

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestDocNamesEveryParameter checks that the manual in doc.go names every
// parameter main.go reads.
func TestDocNamesEveryParameter(t *testing.T) {
	src, err := os.ReadFile("main.go")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`r\.(?:String|Int|Duration|Bool|List)\("([a-z0-9_]+)"\)|pick\("([a-z0-9_]+)"\)`)
	found := re.FindAllStringSubmatch(string(src), -1)
	if len(found) < 20 {
		t.Fatalf("found only %d parameters in main.go: is the pattern out of date?", len(found))
	}
	for _, m := range found {
		name := m[1]
		if name == "" {
			name = "default_" + m[2]
			if m[2] == "initial_destination_concurrency" {
				name = m[2]
			}
		}
		if !strings.Contains(string(doc), name) {
			t.Errorf("doc.go does not describe %s", name)
		}
	}
}
