// Package bounce is a Postern daemon (manual to come).
package bounce
