package config

import (
	"os"
	"path/filepath"
)

// DefaultDir is the configuration directory used when neither -c nor
// MAIL_CONFIG names one.
var DefaultDir = "/etc/postern"

// EnvConfig is the environment variable that names the configuration
// directory, as in Postfix.
const EnvConfig = "MAIL_CONFIG"

// ResolveDir returns the configuration directory a command should use: flag
// (the -c argument) when it is not empty, else $MAIL_CONFIG, else DefaultDir.
// The result is absolute when it can be made so.
func ResolveDir(flag string) string {
	dir := flag
	if dir == "" {
		dir = os.Getenv(EnvConfig)
	}
	if dir == "" {
		dir = DefaultDir
	}
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	return dir
}
