package virtual

import (
	"testing"

	"github.com/postern-mta/postern/internal/config"
	"github.com/postern-mta/postern/internal/doccheck"
)

// Every parameter main.go reads is registered and in the manual.
func TestDocCoversParameters(t *testing.T) {
	doccheck.Manual{Min: 12}.Check(t)
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
