package local

import (
	"testing"

	"github.com/postern-mta/postern/internal/config"
	"github.com/postern-mta/postern/internal/doccheck"
)

// Every parameter main.go reads is registered and in the manual.
func TestDocCoversParameters(t *testing.T) {
	doccheck.Manual{Min: 40}.Check(t)
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
