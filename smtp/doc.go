// Package smtp is a Postern daemon (manual to come).
package smtp
