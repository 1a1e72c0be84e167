package smtp

import (
	"errors"
	"fmt"
	"strings"
	"syscall"

	"github.com/postern-mta/postern/internal/dsn"
	"github.com/postern-mta/postern/internal/proto"
)

// failure is why a recipient, a transaction or a whole server did not
// work out, with the texts Postfix uses for it.
type failure struct {
	st     *dsn.Status
	reason string // the human text: log, mailq, bounce
	// mta and diag are set when the server said it: the DSN Remote-MTA
	// and the "smtp;" Diagnostic-Code.
	mta, diag string
	// site says the server as a whole failed (no connection, greeting or
	// handshake refused): the mark of a dead destination.
	site bool
	// plain asks to try the same server again without TLS (opportunistic
	// TLS whose handshake failed).
	plain bool
}

func (f *failure) temporary() bool { return f.st.Class() != 5 }

// result is the failure as a recipient's result.
func (f *failure) result(relay string) proto.RcptResult {
	r := proto.RcptResult{Status: f.st, Action: proto.ActionFailed, Reason: f.reason, Relay: relay}
	if f.temporary() {
		r.Action = proto.ActionDelayed
	}
	if f.diag != "" {
		r.RemoteMTA, r.DiagType, r.Diag = f.mta, "smtp", f.diag
	} else {
		r.DiagType, r.Diag = "X-Postfix", f.reason
	}
	return r
}

// localFailure is a failure found by the agent itself.
func localFailure(enh string, site bool, format string, args ...any) *failure {
	text := fmt.Sprintf(format, args...)
	code := 450
	if strings.HasPrefix(enh, "5") {
		code = 550
	}
	return &failure{st: &dsn.Status{Code: code, Enhanced: enh, Text: text}, reason: text, site: site}
}

// serverSaid is a server's refusal of a command: "host mx[1.2.3.4] said:
// 550 5.1.1 … (in reply to RCPT TO command)". A reply that is neither 4xx
// nor 5xx where one of those was due is a protocol error (5.5.0).
func serverSaid(s *session, r *reply, command string) *failure {
	st := r.status()
	prefix := ""
	if c := r.class(); c != 4 && c != 5 {
		prefix = "Protocol error: "
		st = &dsn.Status{Code: 550, Enhanced: "5.5.0", Text: prefix + st.Text}
	}
	reason := fmt.Sprintf("%shost %s said: %s (in reply to %s)", prefix, s.label, r.text, command)
	return &failure{st: st, reason: reason, mta: s.t.host, diag: r.text}
}

// refused is a server that will not talk: its greeting or HELO reply was
// not 2xx. With smtp_skip_5xx_greeting a 5xx greeting only defers, so the
// next server (or a later try) gets its chance.
func refused(s *session, r *reply, soften bool) *failure {
	st := r.status()
	if soften && st.Permanent() {
		st = st.Soften()
	}
	reason := fmt.Sprintf("host %s refused to talk to me: %s", s.label, r.text)
	return &failure{st: st, reason: reason, mta: s.t.host, diag: r.text, site: true}
}

// ioFailure is a conversation that broke: "conversation with mx[ip] timed
// out while sending RCPT TO", "lost connection with mx[ip] while …".
func ioFailure(s *session, stage string, err error) *failure {
	var text string
	switch {
	case isTimeout(err):
		text = fmt.Sprintf("conversation with %s timed out while %s", s.label, stage)
	case errors.Is(err, errMalformed):
		text = fmt.Sprintf("conversation with %s failed while %s: %v", s.label, stage, err)
	default:
		text = fmt.Sprintf("lost connection with %s while %s", s.label, stage)
	}
	f := localFailure("4.4.2", false, "%s", text)
	return f
}

// connectFailure is a connection that could not be made: "connect to
// mx[192.0.2.1]:25: Connection refused".
func connectFailure(t target, err error) *failure {
	return localFailure("4.4.1", true, "connect to %s: %s", t.relay(), errnoText(err))
}

// errnoText is the system's wording of a network error, capitalized as
// strerror(3) gives it.
func errnoText(err error) string {
	var errno syscall.Errno
	switch {
	case errors.As(err, &errno):
		s := errno.Error()
		if s != "" {
			s = strings.ToUpper(s[:1]) + s[1:]
		}
		return s
	case isTimeout(err):
		return "Connection timed out"
	}
	return err.Error()
}
