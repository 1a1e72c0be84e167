// Package showq is a Postern daemon (manual to come).
package showq
