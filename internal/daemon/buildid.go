package daemon

import (
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"sync"
)

var buildID struct {
	once sync.Once
	id   string
	err  error
}

// BuildID identifies the running binary: the Go build ID the linker wrote
// into its ELF notes, or, failing that, a hash of the file. Master passes
// its own to every child; a child whose binary differs (an upgrade landed
// under a running master) refuses to start rather than mix versions.
func BuildID() (string, error) {
	buildID.once.Do(func() {
		buildID.id, buildID.err = readBuildID("/proc/self/exe")
	})
	return buildID.id, buildID.err
}

func readBuildID(path string) (string, error) {
	f, err := elf.Open(path)
	if err != nil {
		return hashFile(path)
	}
	defer f.Close()
	if s := f.Section(".note.go.buildid"); s != nil {
		data, err := s.Data()
		// An ELF note: namesz, descsz, type (4 bytes each), name "Go\0\0", desc.
		if err == nil && len(data) > 16 {
			return string(trimNul(data[16:])), nil
		}
	}
	return hashFile(path)
}

func trimNul(b []byte) []byte {
	for len(b) > 0 && b[len(b)-1] == 0 {
		b = b[:len(b)-1]
	}
	return b
}

func hashFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("read build ID of %s: %w", path, err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("read build ID of %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)[:16]), nil
}
