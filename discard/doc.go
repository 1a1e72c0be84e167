// Package discard is a Postern daemon (manual to come).
package discard
