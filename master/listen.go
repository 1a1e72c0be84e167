package master

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// inetAddrs turns an inet service name ("smtp", "2525", "127.0.0.1:2525",
// "[::1]:2525", "host:port") into the addresses to listen on. Without a
// host part, inet_interfaces and inet_protocols decide.
func inetAddrs(name string, interfaces []string, protocols string) ([]string, error) {
	host, port := "", name
	if i := strings.LastIndexByte(name, ':'); i >= 0 {
		host, port = name[:i], name[i+1:]
		host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	}
	p, err := lookupPort(port)
	if err != nil {
		return nil, err
	}
	if host != "" && host != "*" {
		return []string{net.JoinHostPort(host, p)}, nil
	}
	v4, v6 := protocolsWanted(protocols)
	var out []string
	for _, ifc := range interfaces {
		switch strings.ToLower(ifc) {
		case "all":
			switch {
			case v4 && v6:
				out = append(out, net.JoinHostPort("", p))
			case v4:
				out = append(out, net.JoinHostPort("0.0.0.0", p))
			case v6:
				out = append(out, net.JoinHostPort("::", p))
			}
		case "loopback-only":
			if v4 {
				out = append(out, net.JoinHostPort("127.0.0.1", p))
			}
			if v6 && ipv6Available() {
				out = append(out, net.JoinHostPort("::1", p))
			}
		default:
			h := strings.TrimSuffix(strings.TrimPrefix(ifc, "["), "]")
			out = append(out, net.JoinHostPort(h, p))
		}
	}
	if len(out) == 0 {
		return nil, errors.New("inet_interfaces and inet_protocols leave no address to listen on")
	}
	return out, nil
}

func lookupPort(port string) (string, error) {
	if n, err := strconv.Atoi(port); err == nil {
		if n <= 0 || n > 65535 {
			return "", fmt.Errorf("bad port %q", port)
		}
		return port, nil
	}
	n, err := net.LookupPort("tcp", port)
	if err != nil {
		return "", fmt.Errorf("unknown service name %q (not in /etc/services)", port)
	}
	return strconv.Itoa(n), nil
}

func protocolsWanted(p string) (v4, v6 bool) {
	switch strings.ToLower(strings.TrimSpace(p)) {
	case "ipv4":
		return true, false
	case "ipv6":
		return false, true
	case "ipv4, ipv6", "ipv4,ipv6", "ipv6, ipv4", "ipv6,ipv4", "all", "":
		return true, ipv6Available()
	}
	return true, ipv6Available()
}

func ipv6Available() bool {
	ln, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		return false
	}
	ln.Close()
	return true
}

// listener is an open listening socket master keeps for the life of its
// service, across child restarts and reloads. Master holds it as a raw
// descriptor: children share the socket's open file description, so
// master must never switch it to blocking mode, which an *os.File's Fd()
// (and so exec.Cmd.ExtraFiles) would do.
type listener struct {
	addr string
	fd   int
}

func (l *listener) close() {
	if l.fd >= 0 {
		unix.Close(l.fd)
		l.fd = -1
	}
}

// rawListener takes a descriptor of its own for ln's socket and closes ln.
func rawListener(addr string, ln net.Listener) (*listener, error) {
	sc, ok := ln.(syscall.Conn)
	if !ok {
		ln.Close()
		return nil, fmt.Errorf("bind %s: not a socket listener", addr)
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("bind %s: %w", addr, err)
	}
	fd := -1
	var derr error
	if err := rc.Control(func(s uintptr) {
		fd, derr = unix.FcntlInt(s, unix.F_DUPFD_CLOEXEC, 0)
	}); err != nil {
		derr = err
	}
	ln.Close()
	if derr != nil {
		return nil, fmt.Errorf("bind %s: dup: %w", addr, derr)
	}
	return &listener{addr: addr, fd: fd}, nil
}

// openInet binds a TCP listener.
func openInet(addr string) (*listener, error) {
	lc := net.ListenConfig{}
	network := "tcp"
	host, _, _ := net.SplitHostPort(addr)
	if ip := net.ParseIP(host); ip != nil {
		if ip.To4() != nil {
			network = "tcp4"
		} else {
			network = "tcp6"
		}
	}
	ln, err := lc.Listen(context.Background(), network, addr)
	if err != nil {
		return nil, fmt.Errorf("bind %s: %w", addr, err)
	}
	return rawListener(addr, ln)
}

// openUnix makes a Unix stream socket at path, owned by uid/gid (-1: keep)
// with the given mode. A stale socket from a previous run is removed
// first; master's lock guarantees no other master is using it.
func openUnix(path string, uid, gid int, mode os.FileMode) (*listener, error) {
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&os.ModeSocket == 0 {
			return nil, fmt.Errorf("bind %s: exists and is not a socket", path)
		}
		os.Remove(path)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("bind %s: %w", path, err)
	}
	old := syscall.Umask(0o177)
	ln, err := net.Listen("unix", path)
	syscall.Umask(old)
	if err != nil {
		return nil, fmt.Errorf("bind %s: %w", path, err)
	}
	ul := ln.(*net.UnixListener)
	ul.SetUnlinkOnClose(false)
	if uid >= 0 || gid >= 0 {
		if err := os.Lchown(path, uid, gid); err != nil {
			ln.Close()
			return nil, fmt.Errorf("chown %s: %w", path, err)
		}
	}
	if err := os.Chmod(path, mode); err != nil {
		ln.Close()
		return nil, fmt.Errorf("chmod %s: %w", path, err)
	}
	return rawListener(path, ln)
}
