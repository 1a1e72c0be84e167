// Package qmqpd is a Postern daemon (manual to come).
package qmqpd
