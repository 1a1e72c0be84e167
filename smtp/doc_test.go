package smtp

import (
	"os"
	"regexp"
	"testing"

	"github.com/postern-mta/postern/internal/config"
)

// Every parameter main.go reads is in the manual and in the registry.
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
	for _, m := range regexp.MustCompile(`r\.\w+\("([a-z0-9_]+)"\)`).FindAllSubmatch(src, -1) {
		names[string(m[1])] = true
	}
	for _, m := range regexp.MustCompile(`p\s*\+\s*"([A-Za-z0-9_]+)"`).FindAllSubmatch(src, -1) {
		names["smtp_"+string(m[1])] = true
		names["lmtp_"+string(m[1])] = false // in the registry, not spelled out in the manual
	}
	for _, m := range regexp.MustCompile(`"((?:smtp|lmtp)_[a-z_]+)"`).FindAllSubmatch(src, -1) {
		names[string(m[1])] = true
	}
	if len(names) < 50 {
		t.Fatalf("found only %d parameter names in main.go: the pattern is stale", len(names))
	}
	for n, inDoc := range names {
		if _, ok := config.LookupParam(n); !ok {
			t.Errorf("%s is read but not a registered parameter", n)
		}
		if inDoc && !regexp.MustCompile(`\b`+n+`\b`).Match(doc) {
			t.Errorf("%s is read but not in doc.go", n)
		}
	}
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
