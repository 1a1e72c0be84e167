package proto

import (
	"errors"
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// closedByPeer reports whether an idle connection's other end has closed
// it (or sent something nobody asked for, which puts it out of step
// too), without waiting: one non-blocking peek.
func closedByPeer(nc net.Conn) bool {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return true
	}
	closed := false
	var b [1]byte
	err = rc.Read(func(fd uintptr) bool {
		n, _, rerr := unix.Recvfrom(int(fd), b[:], unix.MSG_PEEK|unix.MSG_DONTWAIT)
		switch {
		case errors.Is(rerr, unix.EAGAIN), errors.Is(rerr, unix.EINTR):
		case rerr != nil, n >= 0:
			// EOF (n == 0), unread bytes, or an error.
			closed = true
		}
		return true
	})
	return closed || err != nil
}
