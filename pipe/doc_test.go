package pipe

import (
	"testing"

	"github.com/postern-mta/postern/internal/config"
	"github.com/postern-mta/postern/internal/doccheck"
)

// Every parameter main.go reads is registered and in the manual.
func TestDocCoversParameters(t *testing.T) {
	doccheck.Manual{Min: 10}.Check(t)
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
