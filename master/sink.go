package master

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/postern-mta/postern/internal/maillog"
)

// sink is where every log line ends: maillog_file, master's standard error
// (start-fg) or syslog. Lines arrive already prefixed with
// "name/daemon[pid]: "; the sink adds the time and host, or, for syslog,
// the priority.
type sink struct {
	mu     sync.Mutex
	w      io.Writer // file or stderr; nil with syslog
	file   *os.File
	path   string
	syslog net.Conn
	host   string
	buf    []byte
	now    func() time.Time
}

// openSink opens the log destination: path if set, else stderr when
// foreground, else syslog at /dev/log.
func openSink(path string, foreground bool, host string) (*sink, error) {
	s := &sink{host: host, now: time.Now, path: path}
	switch {
	case path != "":
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
		if err != nil {
			return nil, fmt.Errorf("open maillog_file: %w", err)
		}
		s.file, s.w = f, f
	case foreground:
		s.w = os.Stderr
	default:
		c, err := net.Dial("unixgram", "/dev/log")
		if err != nil {
			// No syslog daemon: keep the lines rather than lose them.
			s.w = os.Stderr
			return s, nil
		}
		s.syslog = c
	}
	return s, nil
}

// reopen reopens maillog_file (after a log rotation, on reload).
func (s *sink) reopen() error {
	if s.path == "" {
		return nil
	}
	f, err := os.OpenFile(s.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return fmt.Errorf("reopen maillog_file: %w", err)
	}
	s.mu.Lock()
	old := s.file
	s.file, s.w = f, f
	s.mu.Unlock()
	old.Close()
	return nil
}

// writeLines logs several lines (each without its newline), with one
// write to a file or standard error.
func (s *sink) writeLines(lines [][]byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.syslog != nil {
		for _, l := range lines {
			s.writeLocked(l)
		}
		return
	}
	s.buf = s.buf[:0]
	now := s.now()
	for _, l := range lines {
		s.buf = maillog.Stamp(s.buf, now, s.host, l)
		s.buf = append(s.buf, '\n')
	}
	s.w.Write(s.buf) //nolint:errcheck // nowhere else to report it
}

// write logs one line (without its newline).
func (s *sink) write(line []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writeLocked(line)
}

func (s *sink) writeLocked(line []byte) {
	if s.syslog != nil {
		s.buf = maillog.SyslogLine(s.buf[:0], s.now(), line)
		s.syslog.Write(s.buf) //nolint:errcheck // syslog is best effort, like Postfix's
		return
	}
	s.buf = maillog.Stamp(s.buf[:0], s.now(), s.host, line)
	s.buf = append(s.buf, '\n')
	s.w.Write(s.buf) //nolint:errcheck // nowhere else to report it
}

// forChild gives the descriptor a child writes its log lines to once it
// serves, and how it writes them (daemon.EnvLog): "file:HOST" for
// maillog_file or standard error, "syslog" for /dev/log; fd -1 when the
// child should keep writing through master. A daemon that writes for
// itself keeps master off the path of every line; lines it writes before
// it is ready (and crash traces) still come through master, which needs
// them to explain a failed start.
func (s *sink) forChild() (fd int, how string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.syslog != nil:
		sc, ok := s.syslog.(syscall.Conn)
		if !ok {
			return -1, ""
		}
		raw, err := sc.SyscallConn()
		if err != nil {
			return -1, ""
		}
		fd := -1
		if err := raw.Control(func(f uintptr) { fd = int(f) }); err != nil {
			return -1, ""
		}
		return fd, "syslog"
	case s.file != nil:
		return int(s.file.Fd()), "file:" + s.host
	case s.w == io.Writer(os.Stderr):
		return int(os.Stderr.Fd()), "file:" + s.host
	}
	return -1, ""
}

// Write lets master's own Logger write into the sink.
func (s *sink) Write(p []byte) (int, error) {
	for _, line := range bytes.Split(bytes.TrimSuffix(p, []byte("\n")), []byte("\n")) {
		s.write(line)
	}
	return len(p), nil
}

func (s *sink) close() {
	if s.file != nil {
		s.file.Close()
	}
	if s.syslog != nil {
		s.syslog.Close()
	}
}
