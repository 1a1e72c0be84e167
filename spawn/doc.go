// Package spawn is a Postern daemon (manual to come).
package spawn
