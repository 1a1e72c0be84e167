// Package cleanup is a Postern daemon (manual to come).
package cleanup
