package privexec

import (
	"errors"
	"fmt"
	"io/fs"
	"os/exec"
	"strings"
	"syscall"

	"github.com/postern-mta/postern/internal/dsn"
)

// Sysexits are the exit statuses of sendmail-compatible programs
// (sysexits.h); they are the contract of commands that deliver mail.
const (
	ExOK          = 0
	ExUsage       = 64
	ExDataErr     = 65
	ExNoInput     = 66
	ExNoUser      = 67
	ExNoHost      = 68
	ExUnavailable = 69
	ExSoftware    = 70
	ExOSErr       = 71
	ExOSFile      = 72
	ExCantCreat   = 73
	ExIOErr       = 74
	ExTempFail    = 75
	ExProtocol    = 76
	ExNoPerm      = 77
	ExConfig      = 78
)

// sysexits maps each status to its enhanced code and text; only EX_OSERR
// and EX_TEMPFAIL are temporary.
var sysexits = map[int]struct{ dsn, text string }{
	ExUsage:       {"5.3.0", "command line usage error"},
	ExDataErr:     {"5.6.0", "data format error"},
	ExNoInput:     {"5.3.0", "cannot open input"},
	ExNoUser:      {"5.1.1", "user unknown"},
	ExNoHost:      {"5.1.2", "host name unknown"},
	ExUnavailable: {"5.3.0", "service unavailable"},
	ExSoftware:    {"5.3.0", "internal software error"},
	ExOSErr:       {"4.3.0", "system resource problem"},
	ExOSFile:      {"5.3.0", "critical OS file missing"},
	ExCantCreat:   {"5.2.0", "can't create user output file"},
	ExIOErr:       {"5.3.0", "input/output error"},
	ExTempFail:    {"4.3.0", "temporary failure"},
	ExProtocol:    {"5.5.0", "remote error in protocol"},
	ExNoPerm:      {"5.7.0", "permission denied"},
	ExConfig:      {"5.3.5", "local configuration error"},
}

// SysexitStatus returns the status a sendmail-style exit code stands for,
// and false for a code outside sysexits.h.
func SysexitStatus(code int) (*dsn.Status, bool) {
	e, ok := sysexits[code]
	if !ok {
		return nil, false
	}
	return dsn.Delivery(e.dsn, e.text), true
}

// Status turns how a command ended into a delivery status, the way
// Postfix's local and pipe agents do; command is the command as the
// administrator wrote it, for the text. A nil result means success.
//
//	exit 0                     success (nil)
//	time limit                 5.3.0 Command time limit exceeded: "cmd"
//	killed by a signal         4.3.0 Command died with signal N: "cmd"
//	output "4.x.x/5.x.x text"  that status and text
//	a sysexits.h code          its status: 75 (EX_TEMPFAIL) and 71 defer,
//	                           67 (EX_NOUSER) is 5.1.1, the rest bounce
//	any other code             5.3.0 Command died with status N: "cmd"
//
// Any output the command wrote is added as ". Command output: …", on one
// line, except where the output itself is the status.
func (r *CommandResult) Status(command string) *dsn.Status {
	out := OutputText(r.Output)
	exit := r.Exit
	if r.StartErr != nil {
		exit, out = startFailure(r.StartErr)
	}
	withOutput := func(s string) string {
		if out == "" {
			return s
		}
		return s + ". Command output: " + out
	}
	switch {
	case r.TimedOut:
		return dsn.Delivery("5.3.0", withOutput(fmt.Sprintf("Command time limit exceeded: %q", command)))
	case r.StartErr == nil && r.Signal != 0:
		return dsn.Delivery("4.3.0", withOutput(fmt.Sprintf("Command died with signal %d: %q", int(r.Signal), command)))
	case exit == 0:
		return nil
	}
	if st, ok := dsn.Parse(out); ok && st.Enhanced != "" && strings.HasPrefix(out, st.Enhanced) && st.Class() != 2 {
		return dsn.Delivery(st.Enhanced, st.Text)
	}
	if st, ok := SysexitStatus(exit); ok {
		st.Text = withOutput(st.Text)
		return st
	}
	return dsn.Delivery("5.3.0", withOutput(fmt.Sprintf("Command died with status %d: %q", exit, command)))
}

// startFailure gives the exit status and output a command that could not
// start would have produced: a working directory or identity that cannot
// be had is temporary (EX_TEMPFAIL); a program that cannot be executed
// gives status 1, as a failed exec does in Postfix's child.
func startFailure(err error) (int, string) {
	var pe *fs.PathError
	if errors.As(err, &pe) && pe.Op == "chdir" {
		return ExTempFail, fmt.Sprintf("cannot change directory to %s: %v", pe.Path, pe.Err)
	}
	if errors.Is(err, syscall.EPERM) && !errors.As(err, &pe) {
		return ExTempFail, fmt.Sprintf("cannot set user ID: %v", err)
	}
	if errors.As(err, &pe) {
		e := pe.Err
		if errors.Is(e, exec.ErrNotFound) {
			e = syscall.ENOENT
		}
		return 1, fmt.Sprintf("execvp %s: %v", pe.Path, e)
	}
	return ExTempFail, err.Error()
}

// OutputText makes command output fit on one log line: control
// characters become spaces, runs of white space one space, and the ends
// are trimmed.
func OutputText(b []byte) string {
	var sb strings.Builder
	space := false
	for _, c := range b {
		if c < ' ' || c == 0x7f || c == ' ' {
			space = true
			continue
		}
		if space && sb.Len() > 0 {
			sb.WriteByte(' ')
		}
		space = false
		sb.WriteByte(c)
	}
	return sb.String()
}
