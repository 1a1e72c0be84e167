package dsn

import (
	"errors"
	"fmt"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in       string
		ok       bool
		code     int
		enhanced string
		text     string
	}{
		{"550 5.1.1 no such user", true, 550, "5.1.1", "no such user"},
		{"5.7.1 go away", true, 550, "5.7.1", "go away"},
		{"4.2.0 try later", true, 450, "4.2.0", "try later"},
		{"421 busy", true, 421, "4.0.0", "busy"},
		{"553 5.7.1 <s>: no evil2", true, 553, "5.7.1", "<s>: no evil2"},
		{"REJECT text", false, 0, "", "REJECT text"},
		{"5.1 short", false, 0, "", "5.1 short"},
		{"", false, 0, "", ""},
	}
	for _, tt := range tests {
		st, ok := Parse(tt.in)
		if ok != tt.ok || st.Code != tt.code || st.Enhanced != tt.enhanced || st.Text != tt.text {
			t.Errorf("Parse(%q) = %+v, %v; want code %d enhanced %q text %q ok %v", tt.in, st, ok, tt.code, tt.enhanced, tt.text, tt.ok)
		}
	}
}

func TestFromErrorHidesCause(t *testing.T) {
	cause := errors.New("open /var/spool/x: permission denied")
	st := FromError(cause)
	if !st.Temporary() || st.String() != "451 4.3.0 Error: queue file write error" {
		t.Errorf("FromError(unknown) = %q, temporary=%v", st.String(), st.Temporary())
	}
	if !errors.Is(st, cause) {
		t.Error("cause lost")
	}
	perm := Perm("5.7.1", "Subject not allowed")
	wrapped := fmt.Errorf("checking header: %w", perm)
	if got := FromError(wrapped); got.String() != "550 5.7.1 Subject not allowed" || !got.Permanent() {
		t.Errorf("FromError(wrapped perm) = %q", got)
	}
}

func TestClassAndSoften(t *testing.T) {
	if (&Status{Code: 250}).Class() != 2 || (&Status{}).Class() != 4 {
		t.Error("Class wrong")
	}
	var nilStatus *Status
	if !nilStatus.Temporary() {
		t.Error("nil status must count as temporary")
	}
	s := New(550, "5.1.1", "unknown").Soften()
	if s.Code != 450 || s.Enhanced != "4.1.1" {
		t.Errorf("Soften = %v", s)
	}
}
