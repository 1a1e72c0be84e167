package pipe

import (
	"os"
	"regexp"
	"testing"

	"github.com/postern-mta/postern/internal/config"
)

// Every parameter main.go reads is registered and in the manual.
func TestDocCoversParameters(t *testing.T) {
	src, err := os.ReadFile("main.go")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, m := range regexp.MustCompile(`"([a-z0-9]+_[a-z0-9_]+)"`).FindAllSubmatch(src, -1) {
		names[string(m[1])] = true
	}
	if len(names) < 10 {
		t.Fatalf("found only %d parameter names in main.go: the pattern is stale", len(names))
	}
	for n := range names {
		if _, ok := config.LookupParam(n); !ok {
			t.Errorf("%s is read but not a registered parameter", n)
		}
		if !regexp.MustCompile(`\b` + n + `\b`).Match(doc) {
			t.Errorf("%s is read but not in doc.go", n)
		}
	}
}

func TestReadConfig(t *testing.T) {
	c := config.Defaults()
	cfg, err := readConfig(c, "mypipe", []string{"flags=R", "user=nobody", "argv=/bin/cat"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Cred.UID == 0 || cfg.TimeLimit.Seconds() != 1000 || !cfg.Args.Flags.ReturnPath {
		t.Errorf("config %+v", cfg)
	}
	c.Set("mypipe_time_limit", "20s")
	if cfg, _ := readConfig(c, "mypipe", []string{"user=nobody", "argv=/bin/cat"}); cfg.TimeLimit.Seconds() != 20 {
		t.Errorf("mypipe_time_limit: %s", cfg.TimeLimit)
	}
	if _, err := readConfig(c, "mypipe", []string{"user=root", "argv=/bin/cat"}); err == nil {
		t.Error("user=root accepted")
	}
}
