// Package dsn holds the one status type every part of Postern uses to say
// how an operation on mail ended: an SMTP reply code, an RFC 3463 enhanced
// status code, a public text that is safe to show a client or a sender, and
// the private cause for the log.
//
// A Status travels from the door (smtpd's reply) to the end of the road
// (bounce's Diagnostic-Code). Errors that are not a *Status count as
// temporary: FromError turns them into "451 4.3.0", never into a bounce.
package dsn

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Status is the outcome of an operation on mail.
type Status struct {
	// Code is the SMTP reply code (250, 451, 550, ...). Zero when the status
	// did not come from or go to an SMTP dialogue; Class then decides.
	Code int `json:"code,omitempty"`
	// Enhanced is the RFC 3463 code, "X.Y.Z".
	Enhanced string `json:"dsn"`
	// Text is the public text: what a client or a sender may read.
	Text string `json:"text"`
	// Cause is the private reason, for the log only. Not serialized.
	Cause error `json:"-"`
}

// New returns a status with an SMTP code, an enhanced code and public text.
func New(code int, enhanced, format string, args ...any) *Status {
	return &Status{Code: code, Enhanced: enhanced, Text: fmt.Sprintf(format, args...)}
}

// Temp returns a temporary failure (451 unless the enhanced code says more).
func Temp(enhanced, format string, args ...any) *Status {
	return New(451, enhanced, format, args...)
}

// Perm returns a permanent failure (550).
func Perm(enhanced, format string, args ...any) *Status {
	return New(550, enhanced, format, args...)
}

// OK returns a success status.
func OK(enhanced, format string, args ...any) *Status {
	return New(250, enhanced, format, args...)
}

// Wrap returns a copy of s with a private cause attached.
func (s *Status) Wrap(cause error) *Status {
	c := *s
	c.Cause = cause
	return &c
}

// Error makes a Status an error. It gives the public form; the cause is
// appended for logs.
func (s *Status) Error() string {
	str := s.String()
	if s.Cause != nil {
		str += ": " + s.Cause.Error()
	}
	return str
}

// Unwrap returns the private cause.
func (s *Status) Unwrap() error { return s.Cause }

// String gives "CODE X.Y.Z text", the form of an SMTP reply line.
func (s *Status) String() string {
	var b strings.Builder
	if s.Code != 0 {
		b.WriteString(strconv.Itoa(s.Code))
		b.WriteByte(' ')
	}
	if s.Enhanced != "" {
		b.WriteString(s.Enhanced)
		b.WriteByte(' ')
	}
	b.WriteString(s.Text)
	return b.String()
}

// Class is the first digit of the enhanced code (2, 4 or 5), or, without
// one, of the SMTP code. Unknown counts as 4: temporary.
func (s *Status) Class() int {
	if s == nil {
		return 4
	}
	if len(s.Enhanced) > 0 && s.Enhanced[0] >= '2' && s.Enhanced[0] <= '5' {
		return int(s.Enhanced[0] - '0')
	}
	if s.Code >= 200 && s.Code < 600 {
		return s.Code / 100
	}
	return 4
}

// Temporary reports whether the status is a temporary failure.
func (s *Status) Temporary() bool { return s.Class() == 4 }

// Permanent reports whether the status is a permanent failure.
func (s *Status) Permanent() bool { return s.Class() == 5 }

// Success reports whether the status is a success.
func (s *Status) Success() bool { return s.Class() == 2 }

// Soften turns a permanent failure into the matching temporary one, as
// soft_bounce=yes asks.
func (s *Status) Soften() *Status {
	if !s.Permanent() {
		return s
	}
	c := *s
	if c.Code >= 500 && c.Code < 600 {
		c.Code -= 100
	}
	if c.Enhanced != "" {
		c.Enhanced = "4" + c.Enhanced[1:]
	}
	return &c
}

// FromError returns the Status inside err, or, for any other error, a
// temporary "451 4.3.0" whose public text hides the cause.
func FromError(err error) *Status {
	if err == nil {
		return nil
	}
	var s *Status
	if errors.As(err, &s) {
		if s.Cause == nil && err != error(s) {
			return s.Wrap(err)
		}
		return s
	}
	return &Status{Code: 451, Enhanced: "4.3.0", Text: "Error: queue file write error", Cause: err}
}

// Parse reads "CODE X.Y.Z text" or "X.Y.Z text" or "CODE text" as found in
// access tables, transport error: entries and command output. ok is false
// when s starts with neither a code nor an enhanced code.
func Parse(s string) (st *Status, ok bool) {
	st = &Status{}
	rest := strings.TrimSpace(s)
	if len(rest) >= 3 && isDigits(rest[:3]) && (len(rest) == 3 || rest[3] == ' ' || rest[3] == '-') {
		st.Code, _ = strconv.Atoi(rest[:3])
		rest = strings.TrimLeft(rest[3:], " -")
		ok = true
	}
	if e, r, found := cutEnhanced(rest); found {
		st.Enhanced = e
		rest = r
		ok = true
	}
	st.Text = rest
	if ok && st.Enhanced == "" && st.Code != 0 {
		st.Enhanced = fmt.Sprintf("%d.0.0", st.Code/100)
	}
	if ok && st.Code == 0 && st.Enhanced != "" {
		switch st.Enhanced[0] {
		case '2':
			st.Code = 250
		case '4':
			st.Code = 450
		case '5':
			st.Code = 550
		}
	}
	return st, ok
}

func cutEnhanced(s string) (enh, rest string, ok bool) {
	end := strings.IndexByte(s, ' ')
	word := s
	if end >= 0 {
		word = s[:end]
		rest = strings.TrimLeft(s[end:], " ")
	}
	if !IsEnhanced(word) {
		return "", s, false
	}
	return word, rest, true
}

// IsEnhanced reports whether s has the form of an RFC 3463 code: a class
// digit 2, 4 or 5, then two dot-separated numbers of one to three digits.
func IsEnhanced(s string) bool {
	parts := strings.Split(s, ".")
	if len(parts) != 3 || len(parts[0]) != 1 || parts[0][0] < '2' || parts[0][0] > '5' || parts[0][0] == '3' {
		return false
	}
	for _, p := range parts[1:] {
		if len(p) < 1 || len(p) > 3 || !isDigits(p) {
			return false
		}
	}
	return true
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// Delivery returns a delivery status whose SMTP code is the one of its
// enhanced code's class: 250, 450 or 550 (an empty or odd code counts as
// temporary).
func Delivery(enhanced, text string) *Status {
	code := 450
	if enhanced != "" {
		switch enhanced[0] {
		case '2':
			code = 250
		case '5':
			code = 550
		}
	}
	return &Status{Code: code, Enhanced: enhanced, Text: text}
}
