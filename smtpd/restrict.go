package smtpd

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/postern-mta/postern/internal/dsn"
)

// The restriction engine.
//
// A restriction list (smtpd_client_restrictions and the others) is parsed
// once, at start, into steps: a named restriction function and its
// arguments. At each protocol stage the session evaluates the list left
// to right with one loop (evalList); the first step that permits or
// rejects decides. A restriction function returns a verdict:
//
//	dunno   go on with the next step
//	permit  stop: accepted at this stage
//	reject  stop: the reply is in check.reply (4xx or 5xx)
//
// and side effects on the check: warn_if_reject turns the next rejects
// into log lines, defer_if_permit and defer_if_reject remember a 4xx to
// give instead of the final permit or 5xx, and access table actions
// (HOLD, DISCARD, FILTER, REDIRECT, BCC, PREPEND) are recorded for the
// message. New restrictions (SASL, RBL, policy servers, rate limits) are
// added to the registry in restrict_table.go with a function of this
// shape; nothing else changes.

// verdict is the outcome of one restriction.
type verdict int

const (
	dunno verdict = iota
	permit
	reject
)

// Error classes, as Postfix keeps them: they decide whether
// warn_if_reject may turn a reject into a warning.
const (
	errPolicy = iota
	errProtocol
	errBounce
	errSoftware // configuration or software trouble: never a warning
	errResource
	errData
)

// Reply classes name what a restriction looked at, in reject texts:
// "<x>: Recipient address rejected: ...".
const (
	classClient    = "Client host"
	classRevClient = "Unverified Client host"
	classHelo      = "Helo command"
	classSender    = "Sender address"
	classRecipient = "Recipient address"
	classETRN      = "Etrn command"
	classData      = "Data command"
	classEOD       = "End-of-data"
)

// errTempLookup marks a table or resolver failure: the request gets
// "451 4.3.0 <name>: Temporary lookup failure".
var errTempLookup = errors.New("temporary lookup failure")

// errConfig marks a configuration error found while evaluating: the
// request gets "451 4.3.5 Server configuration error".
var errConfig = errors.New("server configuration error")

// deferral is a remembered defer_if_permit or defer_if_reject.
type deferral struct {
	active bool
	class  int
	code   int
	dsn    string
	text   string
}

// checkState is the part of a session the restrictions read and write.
type checkState struct {
	// The client and the transaction, as restrictions see them.
	name, addr, reverseName string
	nameStatus, revStatus   peerStatus
	port                    string
	helo                    string
	haveSender              bool
	sender                  string
	haveRcpt                bool
	recipient               string
	etrnName                string
	protocol                string
	queueID                 string
	rcptCount               int
	where                   string
	illPipelining           bool
	tls                     bool
	smtputf8                bool

	// Evaluation state of one stage.
	recursion         int
	warnIfReject      int
	deferIfPermit     deferral
	deferIfReject     deferral
	deferPermitClient bool
	deferPermitHelo   bool
	deferPermitSender bool
	rcptMapsChecked   bool
	senderMapsChecked bool
	reply             string // the reject reply of the stage

	// Side effects for the message (reset with the transaction).
	fx effects

	// accessDenied is the reject of the client restrictions when they
	// run at connect time (smtpd_delay_reject = no).
	accessDenied string
}

// effects are what access table actions ask of the message.
type effects struct {
	hold     bool
	discard  bool
	filter   string
	redirect string
	bcc      []string
	prepend  []string
}

func (c *checkState) namaddr() string { return c.name + "[" + c.addr + "]" }

// resetStage clears what one evaluation leaves behind.
func (c *checkState) resetStage() {
	c.recursion = 0
	c.warnIfReject = 0
	c.deferIfReject.active = false
	c.reply = ""
}

// check is one evaluation: the shared Checker and a session's state.
type check struct {
	ck  *Checker
	st  *checkState
	ctx context.Context
	log func(action, text string)
}

// rejectf is Postfix's smtpd_check_reject: it builds the reply, applies
// warn_if_reject, defer_if_reject and soft_bounce, logs, and returns the
// verdict.
func (c *check) rejectf(class, code int, enh, format string, args ...any) verdict {
	st := c.st
	warn := st.warnIfReject > 0 && class != errSoftware && class != errResource && class != errData
	text := format
	if len(args) > 0 {
		text = fmt.Sprintf(format, args...)
	}
	reply := strconv.Itoa(code) + " " + enh + " " + text
	if code < 400 || code > 599 {
		c.ck.warnf("SMTP reply code configuration error: %s", reply)
		reply = "450 4.7.1 Service unavailable"
	} else if !dsn.IsEnhanced(enh) {
		c.ck.warnf("DSN detail code configuration error: %s", reply)
		reply = "450 4.7.1 Service unavailable"
	}
	if len(reply) > 510 {
		reply = reply[:510]
	}
	reply = printable(reply, ' ')
	if !warn && st.deferIfReject.active && reply[0] == '5' {
		d := st.deferIfReject
		st.warnIfReject = 0
		st.deferIfReject.active = false
		return c.rejectf(d.class, d.code, d.dsn, "%s", d.text)
	}
	b := []byte(reply)
	if c.ck.SoftBounce && b[0] == '5' {
		b[0] = '4'
	}
	b[4] = b[0]
	reply = string(b)
	if warn {
		c.log("reject_warning", reply)
		return dunno
	}
	c.log("reject", reply)
	st.reply = reply
	return reject
}

// deferIf remembers the first reason of a deferral.
func deferIf(d *deferral, class, code int, enh, format string, args ...any) verdict {
	if !d.active {
		*d = deferral{active: true, class: class, code: code, dsn: enh, text: fmt.Sprintf(format, args...)}
	}
	return dunno
}

// deferIfPermitAction applies a *_tempfail_action: defer_if_permit
// remembers a 4xx for later; anything else rejects at once.
func (c *check) deferIfPermitAction(action string, class, code int, enh, format string, args ...any) verdict {
	if action == "" || action == "defer_if_permit" {
		return deferIf(&c.st.deferIfPermit, class, code, enh, format, args...)
	}
	if action == "reject" && code < 500 {
		code += 100
		enh = "5" + enh[1:]
	}
	return c.rejectf(class, code, enh, format, args...)
}

// permitted is smtpd_acl_permit: a permit, logged when the action is in
// smtpd_log_access_permit_actions.
func (c *check) permitted(action, replyClass, replyName, extra string) verdict {
	if !c.st.deferIfPermit.active && c.ck.logPermit[strings.ToLower(action)] {
		text := "action=" + action + " for " + replyClass + "=" + replyName
		if extra != "" {
			text += " " + extra
		}
		c.log("permit", text)
	}
	return permit
}

// failure turns an error from a restriction into a reply.
func (c *check) failure(err error, replyName string) verdict {
	if errors.Is(err, errTempLookup) {
		return c.rejectf(errData, 451, "4.3.0", "<%s>: Temporary lookup failure", replyName)
	}
	return c.rejectf(errSoftware, 451, "4.3.5", "Server configuration error")
}

// evalList is generic_checks: it runs steps in order until one decides.
func (c *check) evalList(steps []step, replyName, replyClass, defACL string) verdict {
	st := c.st
	st.recursion++
	saved := st.recursion - 1
	defer func() {
		st.recursion = saved
		if st.warnIfReject >= st.recursion {
			st.warnIfReject = 0
		}
	}()
	status := dunno
	for i := range steps {
		s := &steps[i]
		if st.fx.discard {
			break
		}
		if s.warnIfReject {
			if st.warnIfReject == 0 {
				st.warnIfReject = st.recursion
			}
			continue
		}
		var err error
		status, err = s.fn(c, s, replyName, replyClass, defACL)
		if err != nil {
			return c.failure(err, replyName)
		}
		if st.warnIfReject >= st.recursion {
			st.warnIfReject = 0
		}
		if status != dunno {
			break
		}
		if st.deferIfPermit.active && st.deferIfReject.active {
			break
		}
	}
	return status
}

// printable replaces control and non-ASCII bytes, as Postfix does before
// a reply goes out.
func printable(s string, repl byte) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' || c >= 0x7f {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if b[j] < ' ' || b[j] >= 0x7f {
					b[j] = repl
				}
			}
			return string(b)
		}
	}
	return s
}

// fixDSN is smtpd_dsn_fix: an address status code given for the wrong
// kind of thing is made to fit (5.1.1 for a sender becomes 5.1.0, for a
// HELO name 5.0.0).
func fixDSN(enh, replyClass string) string {
	if len(enh) < 5 || enh[1:4] != ".1." {
		return enh
	}
	micro := enh[4:]
	var sender, rcpt string
	switch micro {
	case "1":
		sender, rcpt = "4.1.0", "4.1.1"
	case "2":
		sender, rcpt = "4.1.8", "4.1.2"
	case "3":
		sender, rcpt = "4.1.7", "4.1.3"
	case "4", "5", "6":
		sender, rcpt = "4.1.0", "4.1."+micro
	case "7":
		sender, rcpt = "4.1.7", "4.1.3"
	case "8":
		sender, rcpt = "4.1.8", "4.1.2"
	default:
		sender, rcpt = "4.1.0", "4.1.0"
	}
	var out string
	switch replyClass {
	case classSender:
		out = sender
	case classRecipient:
		out = rcpt
	default:
		out = "4.0.0"
	}
	return enh[:1] + out[1:]
}

// splitDSN takes an optional "X.Y.Z " from the front of text.
func splitDSN(def, text string) (enh, rest string) {
	word, after, _ := strings.Cut(text, " ")
	if dsn.IsEnhanced(word) {
		return word, strings.TrimLeft(after, " \t")
	}
	return def, text
}
