package bounce

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestDocListsEveryParameter checks that the manual names every main.cf
// parameter the daemon reads.
func TestDocListsEveryParameter(t *testing.T) {
	src, err := os.ReadFile("main.go")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	_, conf, ok := strings.Cut(string(doc), "# Configuration")
	if !ok {
		t.Fatal("doc.go has no Configuration section")
	}
	read := regexp.MustCompile(`r\.(?:String|Bool|Int|Size|Duration|List)\("([a-z0-9_]+)"\)`).FindAllStringSubmatch(string(src), -1)
	if len(read) < 10 {
		t.Fatalf("found only %d parameters read in main.go", len(read))
	}
	for _, m := range read {
		if !regexp.MustCompile(`(?m)^//\t` + m[1] + `\s`).MatchString(conf) {
			t.Errorf("doc.go's Configuration section does not describe %s", m[1])
		}
	}
}
