// Package sendmail is the Postfix-compatible sendmail command (manual to come).
package sendmail
