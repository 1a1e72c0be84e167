// Package version holds the release of the running binary, stamped at
// build time with -ldflags "-X github.com/postern-mta/postern/internal/version.Version=…".
package version

// Version is the release, "dev" in an unstamped build.
var Version = "dev"
