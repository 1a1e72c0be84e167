package spawn

import (
	"testing"

	"github.com/postern-mta/postern/internal/config"
	"github.com/postern-mta/postern/internal/doccheck"
)

// Every parameter main.go reads is registered and in the manual.
func TestDocCoversParameters(t *testing.T) {
	doccheck.Manual{Min: 5}.Check(t)
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
