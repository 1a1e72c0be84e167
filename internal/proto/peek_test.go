package proto

import (
	"net"
	"testing"
	"time"
)

func TestClosedByPeer(t *testing.T) {
	pair := func() (net.Conn, net.Conn) {
		ln, err := net.Listen("unix", t.TempDir()+"/s")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		c, err := net.Dial("unix", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		s, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close(); s.Close() })
		return c, s
	}
	c, _ := pair()
	if closedByPeer(c) {
		t.Error("an open, quiet connection looks closed")
	}
	c, s := pair()
	s.Close()
	waitTrue(t, "closed connection seen", func() bool { return closedByPeer(c) })
	c, s = pair()
	s.Write([]byte("x")) //nolint:errcheck
	waitTrue(t, "unasked-for bytes seen", func() bool { return closedByPeer(c) })
}

func waitTrue(t *testing.T, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: timed out", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
