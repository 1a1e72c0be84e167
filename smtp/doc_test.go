package smtp

import (
	"testing"

	"github.com/postern-mta/postern/internal/config"
	"github.com/postern-mta/postern/internal/doccheck"
)

// Every parameter main.go reads is in the manual and in the registry; the
// lmtp_ forms are documented as their smtp_ forms.
func TestDocCoversParameters(t *testing.T) {
	doccheck.Manual{Min: 50, Mirrors: map[string]string{"lmtp_": "smtp_"}}.Check(t)
}

// readConfig reads the built-in defaults without error, for both
// personalities.
func TestReadConfigDefaults(t *testing.T) {
	for _, lmtp := range []bool{false, true} {
		c := config.Defaults()
		c.Set("myhostname", "mx.example.test")
		cfg, err := readConfig(c, lmtp)
		if err != nil {
			t.Fatalf("lmtp=%v: %v", lmtp, err)
		}
		if cfg.HeloName != "mx.example.test" || cfg.MXSessionLimit != 2 || !cfg.Cache.OnDemand || cfg.TLS.Level != tlsNone {
			t.Errorf("lmtp=%v: %+v", lmtp, cfg)
		}
		wantPort := 25
		if lmtp {
			wantPort = 24
		}
		if cfg.DefaultPort != wantPort {
			t.Errorf("lmtp=%v: port %d", lmtp, cfg.DefaultPort)
		}
	}
	c := config.Defaults()
	c.Set("smtp_tls_security_level", "fingerprint")
	if _, err := readConfig(c, false); err == nil {
		t.Error("no error for an unsupported TLS level")
	}
	c = config.Defaults()
	c.Set("smtp_enforce_tls", "yes")
	if cfg, err := readConfig(c, false); err != nil || cfg.TLS.Level != tlsVerify {
		t.Errorf("smtp_enforce_tls: level %d, %v", cfg.TLS.Level, err)
	}
}
