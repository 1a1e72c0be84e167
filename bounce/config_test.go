package bounce

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/config"
)

func TestReadConfig(t *testing.T) {
	dir := t.TempDir()
	mainCF := `queue_directory = /q
myhostname = mx.example.test
myorigin = example.test
notify_classes = bounce, delay, resource, frobs
2bounce_notice_recipient = admin@elsewhere.test
bounce_size_limit = 1000
maximal_queue_lifetime = 2d
bounce_template_file = /etc/postern/bounce.cf
`
	if err := os.WriteFile(filepath.Join(dir, "main.cf"), []byte(mainCF), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	c, warnings, err := ReadConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"cleanup paths", strings.Join(c.CleanupPaths, " "), "/q/private/cleanup /q/public/cleanup"},
		{"notify bounce", c.NotifyBounce, true},
		{"notify 2bounce", c.Notify2Bounce, false},
		{"notify delay", c.NotifyDelay, true},
		{"bounce notice", c.BounceNotice, "postmaster@example.test"},
		{"2bounce notice", c.TwoBounceNotice, "admin@elsewhere.test"},
		{"double bounce sender", c.DoubleBounceSender, "double-bounce@mx.example.test"},
		{"size limit", c.BounceSizeLimit, int64(1000)},
		{"lifetime", c.MaxQueueLifetime, 48 * time.Hour},
		{"bounce lifetime", c.BounceQueueLifetime, 5 * 24 * time.Hour},
		{"deferred log path", c.Layout.Path("defer", "4jXRDB400qz1SCHg"), "/q/defer/8/4jXRDB400qz1SCHg"},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s = %v, want %v", ch.name, ch.got, ch.want)
		}
	}
	if len(warnings) != 2 || !strings.Contains(warnings[0], `"frobs"`) || !strings.Contains(warnings[1], "bounce_template_file") {
		t.Errorf("warnings = %q, want one about frobs and one about bounce_template_file", warnings)
	}
}
