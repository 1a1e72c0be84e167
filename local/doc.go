// Package local is a Postern daemon (manual to come).
package local
