package postdrop

import (
	"bytes"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/postern-mta/postern/internal/mtatest"
)

// Installed set-group-ID and run by an ordinary user, postdrop refuses a
// configuration directory the default main.cf does not list, and clears
// the environment it was given.
func TestSetgidRefusesUntrustedConfig(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the built binary")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root to install a set-group-ID binary")
	}
	mtatest.EnsureAccounts(t)
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Skip("no user nobody")
	}
	grp, err := user.LookupGroup("postdrop")
	if err != nil {
		t.Skip("no group postdrop (the end-to-end harness creates it)")
	}
	dir, err := os.MkdirTemp("", "postdrop-setgid-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	bin := filepath.Join(dir, "postdrop")
	data, err := os.ReadFile(filepath.Join(mtatest.Bin(t), "postdrop"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	gid, _ := strconv.Atoi(grp.Gid)
	if err := os.Chown(bin, 0, gid); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(bin, 0o755|os.ModeSetgid); err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(nobody.Uid)
	ngid, _ := strconv.Atoi(nobody.Gid)
	cmd := exec.Command(bin, "-r")
	cmd.Env = []string{"MAIL_CONFIG=" + dir}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(ngid)}}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.Stdin = strings.NewReader("")
	err = cmd.Run()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 75 || !strings.Contains(stderr.String(), "postdrop: fatal: untrusted configuration directory name: "+dir) {
		t.Fatalf("got %v, stderr %q", err, stderr.String())
	}
}
