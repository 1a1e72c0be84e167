package spawn

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
	if len(names) < 5 {
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
	c.Set("policy_time_limit", "3600s")
	cfg, err := readConfig(c, "policy", []string{"user=nobody", "argv=/usr/bin/policyd", "-v"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Cred.UID == 0 || cfg.TimeLimit.Hours() != 1 || len(cfg.Argv) != 2 || cfg.Env[len(cfg.Env)-1] != "PATH=/usr/bin:/bin" {
		t.Errorf("config %+v", cfg)
	}
	if _, err := readConfig(c, "policy", []string{"user=root", "argv=/bin/cat"}); err == nil {
		t.Error("user=root accepted")
	}
}
