package local

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
	if len(names) < 40 {
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
	c.Set("myhostname", "mx.example.test")
	c.Set("alias_maps", "")
	cfg, err := readConfig(c, "local", func(string) {})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.AllowCommands != expAlias|expForward || cfg.DeliveredHeader != deliveredCommand|deliveredFile|deliveredForward ||
		!cfg.Locking.Fcntl || !cfg.Locking.Dotlock || cfg.Locking.Flock || cfg.MailSpoolDirectory != "/var/mail" ||
		cfg.DefaultPrivs.UID == 0 || len(cfg.ForwardPath) != 2 || cfg.CommandTimeLimit.Seconds() != 1000 {
		t.Errorf("config %+v", cfg)
	}
	c.Set("allow_mail_to_files", "alias, everywhere")
	if _, err := readConfig(c, "local", func(string) {}); err == nil {
		t.Error("bad allow_mail_to_files accepted")
	}
	c = config.Defaults()
	c.Set("alias_maps", "")
	c.Set("default_privs", "root")
	if _, err := readConfig(c, "local", func(string) {}); err == nil {
		t.Error("default_privs = root accepted")
	}
}
