// Package pickup is a Postern daemon (manual to come).
package pickup
