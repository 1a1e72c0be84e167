package pickup

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
	re := regexp.MustCompile(`(?:r\.(?:String|Int|Size|Duration|Bool|List)\(|\{)"([a-z0-9_]+)"`)
	n := 0
	for _, m := range re.FindAllStringSubmatch(string(src), -1) {
		n++
		if !strings.Contains(string(doc), m[1]) {
			t.Errorf("doc.go does not describe %s", m[1])
		}
	}
	if n < 3 {
		t.Errorf("found only %d parameters in main.go", n)
	}
}
