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
)

// Installed set-group-ID and run by an ordinary user, postdrop refuses a
// configuration directory the default main.cf does not list, and clears
// the environment it was given.
func TestSetgidRefusesUntrustedConfig(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root to install a set-group-ID binary")
	}
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Skip("no user nobody")
	}
	grp, err := user.LookupGroup("postdrop")
	if err != nil {
		t.Skip("no group postdrop (the end-to-end harness creates it)")
	}
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	bin := filepath.Join(dir, "postdrop")
	build := exec.Command("go", "build", "-o", bin, "github.com/postern-mta/postern/cmd/postdrop")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
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
