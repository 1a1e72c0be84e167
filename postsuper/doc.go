// Package postsuper is the queue superintendent command (manual to come).
package postsuper
