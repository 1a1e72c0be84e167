// Package smtpd is a Postern daemon (manual to come).
package smtpd
