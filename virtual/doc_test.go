package virtual

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
	if len(names) < 12 {
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

// readConfig works with the built-in defaults.
func TestReadConfigDefaults(t *testing.T) {
	c := config.Defaults()
	c.Set("virtual_mailbox_maps", "inline:{a@b=b/a/}")
	c.Set("virtual_uid_maps", "static:5000")
	cfg, err := readConfig(c, "virtual", func(string) {})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MinimumUID != 100 || cfg.MailboxLimit != 51200000 || !cfg.Locking.Fcntl || !cfg.Locking.Dotlock || cfg.MailboxMaps == nil || cfg.GIDMaps != nil {
		t.Errorf("config %+v", cfg)
	}
	c.Set("virtual_mailbox_lock", "fcntl, lockf")
	if _, err := readConfig(c, "virtual", func(string) {}); err == nil {
		t.Error("unknown lock type accepted")
	}
}
