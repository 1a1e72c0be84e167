// Package pipe is a Postern daemon (manual to come).
package pipe
