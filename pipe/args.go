package pipe

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Flags are pipe(8)'s flags= letters.
type Flags struct {
	BlankLine   bool // B: append a blank line
	DeliveredTo bool // D: Delivered-To header, and bounce on a loop
	FromLine    bool // F: From_ line
	OrigRcpt    bool // O: X-Original-To header
	ReturnPath  bool // R: Return-Path header
	Final       bool // X: the command is the final delivery (DSN "delivered", not "relayed")
	LowerDomain bool // h: lower-case ${domain} and ${nexthop}
	Quote       bool // q: quote local parts in ${sender}, ${recipient}, ${original_recipient}
	LowerLocal  bool // u: lower-case the local parts of the recipient macros
	DotStuff    bool // .: put a '.' before lines that start with '.'
	QuoteFrom   bool // >: put a '>' before lines that start with "From "
}

// parseFlags reads the letters of flags=.
func parseFlags(s string) (Flags, error) {
	var f Flags
	for _, c := range s {
		switch c {
		case 'B':
			f.BlankLine = true
		case 'D':
			f.DeliveredTo = true
		case 'F':
			f.FromLine = true
		case 'O':
			f.OrigRcpt = true
		case 'R':
			f.ReturnPath = true
		case 'X':
			f.Final = true
		case 'h':
			f.LowerDomain = true
		case 'q':
			f.Quote = true
		case 'u':
			f.LowerLocal = true
		case '.':
			f.DotStuff = true
		case '>':
			f.QuoteFrom = true
		default:
			return Flags{}, fmt.Errorf("unknown flag %q in flags=%s (use B D F O R X h q u . >)", c, s)
		}
	}
	return f, nil
}

// Args are the master.cf arguments of a pipe service.
type Args struct {
	Flags      Flags
	User       string // user=name
	Group      string // user=name:group, "" for the user's own group
	Size       int64  // size=limit, 0: none
	EOL        string // eol=, "\n" by default
	Directory  string // directory=, "" for the queue directory
	NullSender string // null_sender=, MAILER-DAEMON by default
	Argv       []string
}

// maxArgs bounds argv= and the argv a request expands it into.
const maxArgs = 10000

// ParseArgs reads pipe's master.cf arguments: attribute=value words, with
// argv= last; everything after argv= is the command.
func ParseArgs(args []string) (*Args, error) {
	a := &Args{EOL: "\n", NullSender: "MAILER-DAEMON"}
	seenArgv := false
	for i, arg := range args {
		name, value, ok := strings.Cut(arg, "=")
		if !ok {
			return nil, fmt.Errorf("invalid attribute %q: expected name=value (argv= must be last)", arg)
		}
		var err error
		switch name {
		case "flags":
			a.Flags, err = parseFlags(value)
		case "user":
			a.User, a.Group, _ = strings.Cut(value, ":")
			if a.User == "" {
				err = errors.New("user= needs a user name")
			}
		case "size":
			a.Size, err = strconv.ParseInt(value, 10, 64)
			if err != nil || a.Size < 0 {
				err = fmt.Errorf("size=%s: not a number of bytes", value)
			}
		case "eol":
			a.EOL, err = unescape(value)
		case "directory":
			a.Directory = value
		case "null_sender":
			a.NullSender = value
		case "chroot":
			err = errors.New("chroot= is not supported: run the command in a chroot of its own")
		case "argv":
			a.Argv = append([]string{value}, args[i+1:]...)
			seenArgv = true
		default:
			err = fmt.Errorf("unknown attribute %q", name)
		}
		if err != nil {
			return nil, err
		}
		if seenArgv {
			break
		}
	}
	switch {
	case !seenArgv || len(a.Argv) == 0 || a.Argv[0] == "":
		return nil, errors.New("missing argv= command-line attribute")
	case a.User == "":
		return nil, errors.New("missing user= command-line attribute")
	case len(a.Argv) > maxArgs:
		return nil, fmt.Errorf("argv= has more than %d arguments", maxArgs)
	}
	for _, arg := range a.Argv {
		if err := checkMacros(arg); err != nil {
			return nil, fmt.Errorf("argv=: %q: %w", arg, err)
		}
	}
	return a, nil
}

// unescape reads the C escapes of eol=: \a \b \f \n \r \t \v \\ and \ddd.
func unescape(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 == len(s) {
			b.WriteByte(c)
			continue
		}
		i++
		switch s[i] {
		case 'a':
			b.WriteByte('\a')
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'v':
			b.WriteByte('\v')
		case '\\':
			b.WriteByte('\\')
		default:
			if s[i] < '0' || s[i] > '7' {
				b.WriteByte('\\')
				b.WriteByte(s[i])
				continue
			}
			n := 0
			j := i
			for ; j < len(s) && j < i+3 && s[j] >= '0' && s[j] <= '7'; j++ {
				n = n*8 + int(s[j]-'0')
			}
			if n > 255 {
				return "", fmt.Errorf("eol=%s: octal escape out of range", s)
			}
			b.WriteByte(byte(n))
			i = j - 1
		}
	}
	if b.Len() == 0 {
		return "", fmt.Errorf("eol=%s: empty end of line", s)
	}
	return b.String(), nil
}
