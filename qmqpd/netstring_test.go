package qmqpd

import (
	"bufio"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func parse(s string) (*request, string, error) {
	var st stage
	req, err := readRequest(&nsReader{r: bufio.NewReader(strings.NewReader(s))}, limits{message: 1000, line: 100, rcpts: 10}, &st)
	return req, st.where, err
}

func TestReadRequest(t *testing.T) {
	body := "Subject: x\n\nhi\n"
	inner := string(appendNetstring(nil, body)) + string(appendNetstring(nil, "alice@example.test")) +
		string(appendNetstring(nil, "bob@example.test")) + string(appendNetstring(nil, "carol@example.test"))
	req, _, err := parse(string(appendNetstring(nil, inner)))
	if err != nil {
		t.Fatal(err)
	}
	if string(req.message) != body || req.sender != "alice@example.test" || strings.Join(req.rcpts, " ") != "bob@example.test carol@example.test" {
		t.Fatalf("got %+v", req)
	}
}

func TestReadRequestErrors(t *testing.T) {
	for _, tc := range []struct {
		in, where string
		want      error
	}{
		{"x", "receiving QMQP packet header", errFormat},
		{"10:x", "receiving message content", errFormat},
		{"10:5000:", "receiving message content", errSize},
		{"10:2:hi,1:a,5x", "receiving recipient address", errFormat},
		{"10:2:hi,200:", "receiving sender address", errSize},
		{"10:2:hi;", "receiving message content", errFormat},
		{"99999999999999:", "receiving QMQP packet header", errFormat},
	} {
		_, where, err := parse(tc.in)
		if !errors.Is(err, tc.want) || where != tc.where {
			t.Errorf("%q: got %v while %s, want %v while %s", tc.in, err, where, tc.want, tc.where)
		}
	}
}

func FuzzReadRequest(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/fuzz/seed-*")
	for _, s := range seeds {
		b, _ := os.ReadFile(s)
		f.Add(string(b))
	}
	f.Add("30:15:Subject: x\n\nhi\n,1:a,1:b,,")
	f.Add("0:,")
	f.Fuzz(func(t *testing.T, in string) {
		req, _, err := parse(in)
		if err == nil && (len(req.message) > 1000 || len(req.rcpts) > 10 || len(req.sender) > 100) {
			t.Fatalf("limits not kept: %+v", req)
		}
	})
}
