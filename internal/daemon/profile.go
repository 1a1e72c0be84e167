package daemon

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
)

// EnvCPUProfile names a directory where every daemon writes a CPU profile
// (COMMAND.PID.prof) of its whole life, for performance work. Pass it to
// daemons with import_environment = … POSTERN_CPUPROFILE=/some/dir.
const EnvCPUProfile = "POSTERN_CPUPROFILE"

// startProfile starts CPU profiling when asked to; the returned function
// ends it.
func startProfile(command string) func() {
	dir := os.Getenv(EnvCPUProfile)
	if dir == "" {
		return func() {}
	}
	f, err := os.Create(filepath.Join(dir, fmt.Sprintf("%s.%d.prof", command, os.Getpid())))
	if err != nil {
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}
