package sendmail

import (
	"fmt"
	"strings"
)

// Modes of operation.
const (
	modeEnqueue  = iota // -bm: deliver the message on standard input
	modeMailq           // -bp: list the queue
	modeFlush           // -q: deliver the deferred mail now
	modeDaemon          // -bd, -bl: start the mail system
	modeNewalias        // -bi, -I: rebuild the alias databases
	modeUser            // -bs: SMTP on standard input and output
	modeIgnore          // -bh, -bH: nothing to do
)

// options is a parsed sendmail command line.
type options struct {
	mode       int
	configDir  string // -C
	sender     *string
	fullName   *string
	encoding   string // -B: "7bit" or "8bit"
	rwContext  string // "local", or "remote" with -G
	notify     string // -N: "NEVER" or a comma list of SUCCESS, DELAY, FAILURE
	ret        string // -R: FULL or HDRS
	envid      string // -V
	verp       string // -XV: two delimiter characters
	verpAsked  bool
	extract    bool // -t
	dotEnd     bool // a lone "." ends the input (unless -i, -oi)
	verify     bool // -bv
	verbose    int  // -v
	aliasDB    string
	site, id   string // -qR, -qI
	qtime      string // -qNNm: ignored
	recipients []string
	warnings   []string
}

// usageError is a command-line mistake: getopt's message, then the
// usage line.
type usageError struct{ getopt string }

func (e *usageError) Error() string { return e.getopt }

// optSpec is Postfix sendmail's getopt list: a letter followed by ':'
// takes an argument.
const optSpec = "A:B:C:F:GIL:N:O:R:UV:X:b:ce:f:h:imno:p:r:q:tvx"

func takesArg(c byte) (known, arg bool) {
	i := strings.IndexByte(optSpec, c)
	if i < 0 || c == ':' {
		return false, false
	}
	return true, i+1 < len(optSpec) && optSpec[i+1] == ':'
}

// parseArgs reads a sendmail command line the way Postfix's getopt does:
// options end at the first argument that is not one, or at "--";
// letters may be grouped ("-ti"); an option's argument may be attached
// ("-fsender") or the next word. "-q" alone, "-XV" and the old "-V xy"
// are handled before getopt, as in Postfix.
func parseArgs(args []string) (*options, error) {
	o := &options{dotEnd: true, rwContext: "local", mode: modeEnqueue}
	i := 0
	for i < len(args) {
		a := args[i]
		if a == "--" {
			i++
			break
		}
		if len(a) < 2 || a[0] != '-' {
			break
		}
		switch {
		case a == "-q":
			if o.mode == modeDaemon {
				o.warn("ignoring -q option in daemon mode")
			} else {
				o.mode = modeFlush
			}
			i++
			continue
		case a == "-V" && i+1 < len(args) && len(args[i+1]) == 2:
			o.warn("option -V is deprecated with Postfix 2.3; specify -XV instead")
			o.verp, o.verpAsked = args[i+1], true
			i += 2
			continue
		case a == "-XV":
			o.verp, o.verpAsked = "", true // default_verp_delimiters
			i++
			continue
		}
		for j := 1; j < len(a); j++ {
			c := a[j]
			known, needArg := takesArg(c)
			if !known {
				return nil, &usageError{fmt.Sprintf("invalid option -- '%c'", c)}
			}
			var arg string
			if needArg {
				switch {
				case j+1 < len(a):
					arg = a[j+1:]
				case i+1 < len(args):
					i++
					arg = args[i]
				default:
					return nil, &usageError{fmt.Sprintf("option requires an argument -- '%c'", c)}
				}
				j = len(a)
			}
			if err := o.option(c, arg); err != nil {
				return nil, err
			}
		}
		i++
	}
	o.recipients = args[i:]
	return o, nil
}

func (o *options) warn(format string, args ...any) {
	o.warnings = append(o.warnings, fmt.Sprintf(format, args...))
}

// fatalError is a fatal error with sendmail's own text.
type fatalError struct{ msg string }

func (e *fatalError) Error() string { return e.msg }

func fatalf(format string, args ...any) error { return &fatalError{fmt.Sprintf(format, args...)} }

// option handles one option letter and its argument.
func (o *options) option(c byte, arg string) error {
	switch c {
	case 'B':
		switch arg {
		case "8BITMIME":
			o.encoding = "8bit"
		case "7BIT":
			o.encoding = "7bit"
		default:
			return fatalf("-B option needs 8BITMIME or 7BIT")
		}
	case 'C':
		o.configDir = arg
	case 'F':
		o.fullName = &arg
	case 'G':
		o.rwContext = "remote"
	case 'I':
		o.mode = modeNewalias
	case 'N':
		if n, ok := notifyValue(arg); ok {
			o.notify = n
		} else {
			o.warn("bad -N option value -- ignored")
		}
	case 'R':
		switch strings.ToLower(arg) {
		case "full":
			o.ret = "FULL"
		case "hdrs":
			o.ret = "HDRS"
		default:
			o.warn("bad -R option value -- ignored")
		}
	case 'V':
		switch {
		case len(arg) > 100:
			o.warn("too long -V option value -- ignored")
		case !printable(arg):
			o.warn("bad syntax in -V option value -- ignored")
		default:
			o.envid = arg
		}
	case 'X':
		if strings.HasPrefix(arg, "V") {
			o.verp, o.verpAsked = arg[1:], true
		}
		// -X log_file and the rest: ignored, as Postfix documents.
	case 'b':
		if arg == "" {
			return fatalf("unsupported: -b")
		}
		switch arg[0] {
		case 'd', 'l':
			if o.mode == modeFlush {
				o.warn("ignoring -q option in daemon mode")
			}
			o.mode = modeDaemon
		case 'h', 'H':
			o.mode = modeIgnore
		case 'i':
			o.mode = modeNewalias
		case 'm':
			o.mode = modeEnqueue
		case 'p':
			o.mode = modeMailq
		case 's':
			o.mode = modeUser
		case 'v':
			o.verify = true
		default:
			return fatalf("unsupported: -b%c", arg[0])
		}
	case 'f', 'r':
		o.sender = &arg
	case 'i':
		o.dotEnd = false
	case 'o':
		if arg == "" {
			break
		}
		switch arg[0] {
		case 'A':
			if len(arg) == 1 {
				return fatalf("-oA requires pathname")
			}
			o.aliasDB = arg[1:]
		case 'i':
			o.dotEnd = false
		}
		// -o7, -o8, -om and the rest: ignored.
	case 'q':
		switch {
		case arg != "" && arg[0] >= '0' && arg[0] <= '9':
			o.qtime = arg
		case strings.HasPrefix(arg, "R"):
			if o.site = arg[1:]; o.site == "" {
				return fatalf("specify: -qRsitename")
			}
		case strings.HasPrefix(arg, "I"):
			if o.id = arg[1:]; o.id == "" {
				return fatalf("specify: -qIqueueid")
			}
		default:
			return fatalf("-q%.1s is not implemented", arg)
		}
	case 't':
		o.extract = true
	case 'v':
		o.verbose++
	}
	// -A, -L, -O, -U, -c, -e, -h, -m, -n, -p, -x: ignored.
	return nil
}

// check looks for options that do not go together.
func (o *options) check() error {
	switch {
	case o.extract && o.mode != modeEnqueue:
		return fatalf("-t can be used only in delivery mode")
	case o.site != "" && o.mode != modeEnqueue:
		return fatalf("-qR can be used only in delivery mode")
	case o.id != "" && o.mode != modeEnqueue:
		return fatalf("-qI can be used only in delivery mode")
	}
	if o.verify {
		switch {
		case o.extract:
			return fatalf("-t option cannot be used with -bv")
		case o.notify != "":
			return fatalf("-N option cannot be used with -bv")
		case o.ret != "":
			return fatalf("-R option cannot be used with -bv")
		case o.verbose == 1:
			return fatalf("-v option cannot be used with -bv")
		}
	}
	return nil
}

// trace reports whether -v asks for a delivery report (once, and only
// when delivering).
func (o *options) trace() bool { return o.verbose == 1 && o.mode == modeEnqueue }

// notifyValue reads a -N argument: "never", or a comma list of success,
// delay and failure, in any case.
func notifyValue(arg string) (string, bool) {
	var s, d, f, never bool
	for _, w := range strings.Split(arg, ",") {
		switch strings.ToLower(strings.TrimSpace(w)) {
		case "never":
			never = true
		case "success":
			s = true
		case "delay":
			d = true
		case "failure":
			f = true
		default:
			return "", false
		}
	}
	if never {
		if s || d || f {
			return "", false
		}
		return "NEVER", true
	}
	var out []string
	if s {
		out = append(out, "SUCCESS")
	}
	if d {
		out = append(out, "DELAY")
	}
	if f {
		out = append(out, "FAILURE")
	}
	return strings.Join(out, ","), len(out) > 0
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}
