package bounce

import (
	"strings"
	"time"
)

// reportKind is what a report is about; it picks the subject, the
// explanation, the DSN Action and how much of the original is returned.
type reportKind int

const (
	kindFailure reportKind = iota // non-delivery report (bounce/ID)
	kindDelay                     // delay warning (defer/ID)
	kindSuccess                   // DSN NOTIFY=SUCCESS notice (trace/ID)
	kindStatus                    // sendmail -v and -bv report (trace/ID)
)

// subject is the Subject: of a report.
func (k reportKind) subject(postmaster bool) string {
	switch k {
	case kindFailure:
		if postmaster {
			return "Postmaster Copy: Undelivered Mail"
		}
		return "Undelivered Mail Returned to Sender"
	case kindDelay:
		if postmaster {
			return "Postmaster Warning: Delayed Mail"
		}
		return "Delayed Mail (still being retried)"
	case kindSuccess:
		return "Successful Mail Delivery Report"
	default:
		return "Mail Delivery Status Report"
	}
}

// undelivered reports whether the report is about mail that did not
// arrive: its copy of the original is the "Undelivered Message".
func (k reportKind) undelivered() bool { return k == kindFailure || k == kindDelay }

// explanation is the opening text of the human part of a report sent to
// the message's sender. Postmaster copies have none: the postmaster knows
// what a bounce is. The wording is Postern's own.
func (r *report) explanation() string {
	var b strings.Builder
	b.WriteString("This is the mail delivery system at " + r.hostname + ".\n\n")
	switch r.kind {
	case kindFailure:
		b.WriteString(`Your message could not be delivered to one or more of its recipients.
The reason for each failure is given below. Your message is attached
to this report.

If you need help with this, write to the postmaster of this mail
system (postmaster@` + r.hostname + `) and include this report.
`)
	case kindDelay:
		b.WriteString(`THIS IS ONLY A WARNING. You do not need to send your message again.

`)
		sentence := "Your message has not yet reached the recipients listed below; " +
			"it has been waiting for " + humanDuration(r.date.Sub(r.arrival)) + ". " +
			"Delivery will be tried again until " + mailDate(r.retryUntil, r.loc) + ", " +
			"and you will get another report if it fails for good."
		var w strings.Builder
		wrapText(&w, sentence)
		b.WriteString(w.String())
	case kindSuccess:
		b.WriteString(`As you asked, this is to tell you that your message was delivered to
the recipients listed below.

A recipient marked "relayed" was handed to another mail system, which
may not send a report of its own; you may still hear of a problem from
it later.
`)
	case kindStatus:
		if r.verify {
			b.WriteString(`Here is the report you asked for: what would happen to mail sent to
the recipients listed below. No message was delivered.
`)
		} else {
			b.WriteString(`Here is the report you asked for: what happened when your message was
delivered to each of the recipients listed below.
`)
		}
	}
	b.WriteString("\n                   The mail delivery system\n")
	return b.String()
}

// wrapText fills plain prose to wrapWidth, without wrap's indentation.
func wrapText(b *strings.Builder, text string) {
	line := 0
	for i, word := range strings.Fields(text) {
		if i > 0 && line+1+len(word) > wrapWidth-4 {
			b.WriteByte('\n')
			line = 0
		} else if i > 0 {
			b.WriteByte(' ')
			line++
		}
		b.WriteString(word)
		line += len(word)
	}
	b.WriteByte('\n')
}

// retryUntil is when a delayed message is given up: its arrival plus the
// queue lifetime that applies to it.
func retryUntil(arrival time.Time, sender string, maxLife, bounceLife time.Duration) time.Time {
	if sender == "" {
		return arrival.Add(bounceLife)
	}
	return arrival.Add(maxLife)
}
