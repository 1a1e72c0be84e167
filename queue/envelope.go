package queue

import "time"

// Queue names: the directories under the queue directory.
const (
	Maildrop = "maildrop" // local submissions from postdrop, before pickup
	Incoming = "incoming" // new messages written by cleanup
	Active   = "active"   // messages qmgr is delivering
	Deferred = "deferred" // messages waiting for their next try
	Hold     = "hold"     // messages parked by the administrator or a HOLD action
	Corrupt  = "corrupt"  // files that could not be read
	Bounce   = "bounce"   // per-message logs of failed recipients
	Defer    = "defer"    // per-message logs of delayed recipients
	Trace    = "trace"    // per-message logs of delivery attempts (sendmail -v, NOTIFY=SUCCESS)
	Saved    = "saved"    // copies kept for debugging
)

// MessageQueues are the queues that hold messages, in mailq order.
var MessageQueues = []string{Maildrop, Incoming, Active, Deferred, Hold}

// Queue file flags (Envelope.Flags). SetFlags changes them in place.
const (
	// FlagForcedExpire: postsuper -e/-f expired the message; qmgr returns
	// it to the sender at its next attempt instead of retrying.
	FlagForcedExpire uint32 = 1 << iota
	// FlagVerify: sendmail -bv; verify the recipients and mail a report
	// instead of delivering.
	FlagVerify
	// FlagTrace: sendmail -v; deliver, record every attempt in the trace
	// log and mail a report of them.
	FlagTrace
)

// Envelope is what a queue file says about a message besides its content.
type Envelope struct {
	Arrival    time.Time // when the message arrived (microsecond precision)
	Sender     string    // "" is the null sender
	FullName   string    // the sender's full name (sendmail -F)
	Attrs      []Attr    // named attributes, in order: client_name, client_address, …
	DSNRet     string    // "", "FULL" or "HDRS"
	DSNEnvID   string    // DSN ENVID, as received
	WarnTime   time.Time // when to send a delay warning; zero = never (second precision)
	Flags      uint32    // Flag* bits; unknown bits are kept
	Recipients []Recipient
}

// Attr is one named attribute of an envelope.
type Attr struct{ Name, Value string }

// Attr returns the value of the last attribute called name, or "".
func (e *Envelope) Attr(name string) string {
	for i := len(e.Attrs) - 1; i >= 0; i-- {
		if e.Attrs[i].Name == name {
			return e.Attrs[i].Value
		}
	}
	return ""
}

// Recipient is one envelope recipient.
type Recipient struct {
	Addr   string // final recipient (after rewriting)
	Orig   string // original recipient as received (may equal Addr)
	Notify string // DSN NOTIFY: "" (default), "NEVER", or a comma list of SUCCESS,DELAY,FAILURE
	ORCPT  string // DSN ORCPT as given, "rfc822;x@y"
	Done   bool   // delivered or bounced already
	Offset int64  // set by the reader: where its record's type byte is, for MarkDone
}
