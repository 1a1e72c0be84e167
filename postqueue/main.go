package postqueue

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/postern-mta/postern/internal/config"
	"github.com/postern-mta/postern/internal/maillog"
)

// Exit statuses (sysexits.h), as Postfix's postqueue uses them.
const (
	exOK          = 0
	exFatal       = 1
	exUsage       = 64
	exUnavailable = 69
	exIOErr       = 74
	exTempFail    = 75
	exNoPerm      = 77
)

const usageText = "usage: postqueue -f | postqueue -i queueid | postqueue -j | postqueue -p | postqueue -s site"

// Modes of operation.
const (
	modeNone = iota
	modeList
	modeJSON
	modeFlush
	modeFlushSite
	modeFlushID
)

// options are the parsed command line.
type options struct {
	mode      int
	configDir string // -c
	site      string // -s
	id        string // -i
	verbose   int
}

// fatalError ends the program with a Postfix-style "postqueue: fatal:"
// line and an exit status.
type fatalError struct {
	status int
	msg    string
}

func (e *fatalError) Error() string { return e.msg }

func fatalf(status int, format string, args ...any) error {
	return &fatalError{status: status, msg: fmt.Sprintf(format, args...)}
}

// parseArgs reads the command line the way getopt(3) does with
// "c:fi:jps:v": options may be grouped ("-vp"), a value may follow its
// letter or be the next argument, and "--" ends the options. Exactly one
// of -f, -i, -j, -p and -s is required; no other arguments are allowed.
func parseArgs(args []string) (options, error) {
	var o options
	usage := fatalf(exUsage, "%s", usageText)
	setMode := func(m int) error {
		if o.mode != modeNone {
			return usage
		}
		o.mode = m
		return nil
	}
	i := 0
	for ; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			i++
			break
		}
		if len(a) < 2 || a[0] != '-' {
			break
		}
		for j := 1; j < len(a); j++ {
			c := a[j]
			var val string
			if strings.IndexByte("cis", c) >= 0 {
				switch {
				case j+1 < len(a):
					val = a[j+1:]
				case i+1 < len(args):
					i++
					val = args[i]
				default:
					return o, fatalf(exUsage, "option requires an argument -- '%c'\n%s", c, usageText)
				}
				j = len(a)
			}
			var err error
			switch c {
			case 'c':
				o.configDir = val
			case 'f':
				err = setMode(modeFlush)
			case 'i':
				err = setMode(modeFlushID)
				o.id = val
			case 'j':
				err = setMode(modeJSON)
			case 'p':
				err = setMode(modeList)
			case 's':
				err = setMode(modeFlushSite)
				o.site = val
			case 'v':
				o.verbose++
			default:
				return o, fatalf(exUsage, "invalid option -- '%c'\n%s", c, usageText)
			}
			if err != nil {
				return o, err
			}
		}
	}
	if i < len(args) || o.mode == modeNone {
		return o, usage
	}
	return o, nil
}

// Main runs postqueue with args (without the program name) and returns
// its exit status. It is meant to be the whole of a set-group-ID
// program's main: it sanitizes the environment before anything else.
func Main(args []string) int {
	saved := os.Environ()
	euid := os.Geteuid()
	// A set-group-ID program must not trust its caller's environment;
	// only root keeps it (as Postfix does). What import_environment
	// names is put back once main.cf has been read.
	if euid != 0 {
		os.Clearenv()
	}
	p := &prog{
		stdout:   os.Stdout,
		stderr:   os.Stderr,
		uid:      os.Getuid(),
		setgid:   os.Getegid() != os.Getgid(),
		savedEnv: saved,
		restore:  euid != 0,
	}
	return p.main(args)
}

// prog is one run of postqueue.
type prog struct {
	stdout, stderr io.Writer
	uid            int
	setgid         bool     // running set-group-ID: config directories are restricted
	savedEnv       []string // the caller's environment
	restore        bool     // put back what import_environment names
	opts           options
	cfg            Config
	mu             sync.Mutex      // warnings may come from several goroutines
	log            *maillog.Logger // the mail log, when postqueue may write there
	closeLog       func()
}

func (p *prog) main(args []string) int {
	err := p.run(args)
	if p.closeLog != nil {
		defer p.closeLog()
	}
	if err == nil {
		return exOK
	}
	var fe *fatalError
	if !errors.As(err, &fe) {
		fe = &fatalError{status: exFatal, msg: err.Error()}
	}
	for _, line := range strings.Split(fe.msg, "\n") {
		if strings.HasPrefix(line, "invalid option") || strings.HasPrefix(line, "option requires") {
			fmt.Fprintf(p.stderr, "postqueue: %s\n", line)
			continue
		}
		fmt.Fprintf(p.stderr, "postqueue: fatal: %s\n", line)
		if p.log != nil {
			p.log.FatalLine("%s", line)
		}
	}
	return fe.status
}

func (p *prog) run(args []string) error {
	o, err := parseArgs(args)
	if err != nil {
		return err
	}
	p.opts = o
	dir := o.configDir
	if dir == "" {
		dir = envValue(p.savedEnv, config.EnvConfig)
	}
	if dir == "" {
		dir = config.DefaultDir
	}
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	if p.setgid {
		if err := authorizedDir(dir); err != nil {
			return err
		}
	}
	cfg, err := config.Load(dir)
	if err != nil {
		return err
	}
	if p.cfg, err = ReadConfig(cfg); err != nil {
		return err
	}
	// From here on, warnings and fatal errors also go to the mail log
	// when postqueue may write there, as Postfix's postqueue logs them.
	p.log, p.closeLog = maillog.OpenForCommand(p.cfg.Maillog, "postqueue")
	if p.restore {
		importEnv(p.cfg.ImportEnv, p.savedEnv, p.setgid)
	}
	p.verbosef("config directory %s, queue directory %s", dir, p.cfg.QueueDir)
	switch o.mode {
	case modeList, modeJSON:
		return p.showQueue()
	case modeFlush:
		return p.flushQueue()
	case modeFlushSite:
		return p.flushSite()
	default: // modeFlushID
		return p.flushID()
	}
}

func (p *prog) warnf(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.stderr, "postqueue: warning: "+format+"\n", args...)
	if p.log != nil {
		p.log.Warning(format, args...)
	}
}

func (p *prog) verbosef(format string, args ...any) {
	if p.opts.verbose > 0 {
		fmt.Fprintf(p.stderr, "postqueue: "+format+"\n", args...)
	}
}

// envValue finds name in an environment list.
func envValue(env []string, name string) string {
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && k == name {
			return v
		}
	}
	return ""
}

// importEnv puts back the variables import_environment names: "NAME"
// takes the caller's value, "NAME=value" sets one. A set-group-ID
// postqueue keeps TZ only when it names a zone ("Europe/Paris"), not a
// file ("/etc/x", ":x", "../x").
func importEnv(names, saved []string, setgid bool) {
	for _, item := range names {
		name, value, set := strings.Cut(item, "=")
		if !set {
			var ok bool
			for _, kv := range saved {
				if k, v, found := strings.Cut(kv, "="); found && k == name {
					value, ok = v, true
				}
			}
			if !ok {
				continue
			}
		}
		if name == "TZ" && setgid && (strings.HasPrefix(value, "/") || strings.HasPrefix(value, ":") || strings.Contains(value, "..")) {
			continue
		}
		os.Setenv(name, value)
	}
}
