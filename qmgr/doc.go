// Package qmgr is a Postern daemon (manual to come).
package qmgr
