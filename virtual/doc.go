// Package virtual is a Postern daemon (manual to come).
package virtual
