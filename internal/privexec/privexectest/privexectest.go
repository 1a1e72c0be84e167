// Package privexectest lets a package's tests use privexec helpers without
// the postern binary: the test binary itself serves as the helper.
//
//	func TestMain(m *testing.M) { privexectest.Main(m) }
//
//	r := privexectest.Runner(t) // a *privexec.Runner starting this test binary
//
// When the tests run as root, the binary is copied to a directory every
// user may enter, so that a helper started with another user's
// credentials can execute it.
package privexectest

import (
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/postern-mta/postern/internal/privexec"
)

const envHelper = "POSTERN_PRIVEXEC_TEST_HELPER"

// Main runs the tests, or, in a helper started by Runner, the helper.
func Main(m *testing.M) {
	if os.Getenv(envHelper) == "1" {
		os.Exit(privexec.Main(nil))
	}
	code := m.Run()
	if exeDir != "" {
		os.RemoveAll(exeDir)
	}
	os.Exit(code)
}

var (
	exeOnce sync.Once
	exePath string
	exeDir  string
	exeErr  error
)

// Exe returns a path of the running test binary that any user may
// execute.
func Exe(t testing.TB) string {
	t.Helper()
	exeOnce.Do(func() {
		self, err := os.Executable()
		if err != nil {
			exeErr = err
			return
		}
		if os.Geteuid() != 0 {
			exePath = self
			return
		}
		exeDir, exeErr = os.MkdirTemp("", "privexectest-")
		if exeErr != nil {
			return
		}
		if exeErr = os.Chmod(exeDir, 0o755); exeErr != nil {
			return
		}
		exePath = filepath.Join(exeDir, filepath.Base(self))
		exeErr = copyFile(self, exePath)
	})
	if exeErr != nil {
		t.Fatalf("prepare helper binary: %v", exeErr)
	}
	return exePath
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// Runner returns a Runner whose helpers are this test binary; it is
// closed when the test ends.
func Runner(t testing.TB) *privexec.Runner {
	t.Helper()
	r := &privexec.Runner{
		Exe:    Exe(t),
		Args:   []string{},
		Env:    []string{envHelper + "=1", "PATH=/usr/bin:/bin"},
		Stderr: os.Stderr,
	}
	t.Cleanup(r.Close)
	return r
}
