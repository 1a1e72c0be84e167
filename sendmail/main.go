package sendmail

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/postern-mta/postern/internal/config"
	"github.com/postern-mta/postern/internal/maillog"
)

// exitTempFail is EX_TEMPFAIL, the status of every failure, as with
// Postfix's sendmail.
const exitTempFail = 75

// Config is what sendmail reads from main.cf.
type Config struct {
	Dir               string // the configuration directory in use
	MessageSizeLimit  int64
	HeaderSizeLimit   int
	FixLineEndings    string // sendmail_fix_line_endings: always, strict, never
	SubmitUsers       []string
	AliasDatabase     []string
	CommandDirectory  string
	VERPDelimiters    string
	VERPFilter        string
	MyOrigin          string
	ConfigDirExplicit bool          // -C was given: children get it too
	Maillog           maillog.Place // where warnings and fatal errors are logged too
}

// Main runs sendmail with args (without the program name) and returns
// the exit status.
func Main(args []string) int {
	prog := progName()
	fail := func(err error) int {
		fmt.Fprintf(os.Stderr, "%s: fatal: %v\n", prog, err)
		return exitTempFail
	}
	o, err := parseArgs(args)
	var ue *usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(os.Stderr, "%s: %s\n", prog, ue.getopt)
		return fail(fmt.Errorf("usage: %s [options]", prog))
	}
	if err != nil {
		return fail(err)
	}
	for _, w := range o.warnings {
		fmt.Fprintf(os.Stderr, "%s: warning: %s\n", prog, w)
	}
	if err := o.check(); err != nil {
		return fail(err)
	}
	cfg, err := loadConfig(o.configDir)
	if err != nil {
		return fail(err)
	}
	// From here on, what sendmail reports is also in the mail log when it
	// can write there (syslog, or a maillog_file open to it), as
	// Postfix's sendmail logs its warnings and fatal errors.
	if l, closeLog := maillog.OpenForCommand(cfg.Maillog, "sendmail"); l != nil {
		defer closeLog()
		for _, w := range o.warnings {
			l.Warning("%s", w)
		}
		fail = func(err error) int {
			fmt.Fprintf(os.Stderr, "%s: fatal: %v\n", prog, err)
			l.FatalLine("%v", err)
			return exitTempFail
		}
	}
	if o.qtime != "" && o.mode != modeDaemon {
		return 0 // -qNNm: run the queue every NN minutes; Postern's qmgr does
	}
	s := &session{prog: prog, o: o, cfg: cfg}
	switch o.mode {
	case modeEnqueue:
		switch {
		case o.site != "":
			if len(o.recipients) > 0 {
				return fail(errors.New("flush site requires no recipient"))
			}
			return s.run(s.command("postqueue"), s.verbose("-s", o.site)...)
		case o.id != "":
			if len(o.recipients) > 0 {
				return fail(errors.New("flush queue_id requires no recipient"))
			}
			return s.run(s.command("postqueue"), s.verbose("-i", o.id)...)
		}
		if err := s.enqueue(os.Stdin); err != nil {
			return fail(err)
		}
		return 0
	case modeMailq:
		if len(o.recipients) > 0 {
			return fail(errors.New("display queue mode requires no recipient"))
		}
		return s.run(s.command("postqueue"), s.verbose("-p")...)
	case modeFlush:
		if len(o.recipients) > 0 {
			return fail(errors.New("flush queue mode requires no recipient"))
		}
		return s.run(s.command("postqueue"), s.verbose("-f")...)
	case modeDaemon:
		if len(o.recipients) > 0 {
			return fail(errors.New("daemon mode requires no recipient"))
		}
		return s.run(self(), "postfix", "start")
	case modeNewalias:
		if len(o.recipients) > 0 {
			return fail(errors.New("alias initialization mode requires no recipient"))
		}
		dbs := cfg.AliasDatabase
		if o.aliasDB != "" {
			dbs = config.SplitList(o.aliasDB)
		}
		if len(dbs) == 0 {
			return 0
		}
		return s.run(self(), append([]string{"postalias"}, s.verbose(dbs...)...)...)
	case modeUser:
		if len(o.recipients) > 0 {
			return fail(errors.New("stand-alone mode requires no recipient"))
		}
		name, uid := loginName()
		if ok, err := submitAllowed(cfg.SubmitUsers, name); err != nil || !ok {
			return fail(fatalf("User %s(%d) is not allowed to submit mail", name, uid))
		}
		return s.run(self(), "daemon", "smtpd", "-S")
	}
	return 0 // modeIgnore
}

// progName is the name sendmail was run under, for messages.
func progName() string {
	switch n := filepath.Base(os.Args[0]); n {
	case "mailq", "newaliases":
		return n
	}
	return "sendmail"
}

// loadConfig reads main.cf from -C's directory (or main.cf file),
// MAIL_CONFIG, or the default. Someone other than root may name only a
// directory the default main.cf lists in alternate_config_directories
// or multi_instance_directories.
func loadConfig(flag string) (*Config, error) {
	if filepath.Base(flag) == "main.cf" {
		flag = filepath.Dir(flag)
	}
	dir := config.ResolveDir(flag)
	if flag != "" && os.Getuid() != 0 && dir != config.ResolveDir(config.DefaultDir) {
		def, err := config.Load(config.ResolveDir(config.DefaultDir))
		if err != nil {
			return nil, err
		}
		r := def.Reader()
		allowed := append(r.List("alternate_config_directories"), r.List("multi_instance_directories")...)
		if !slices.ContainsFunc(allowed, func(a string) bool { return filepath.Clean(a) == dir }) {
			return nil, fmt.Errorf("untrusted configuration directory name: %s", dir)
		}
	}
	c, err := config.Load(dir)
	if err != nil {
		return nil, err
	}
	r := c.Reader()
	cfg := &Config{
		Dir:               dir,
		ConfigDirExplicit: flag != "",
		MessageSizeLimit:  r.Size("message_size_limit"),
		HeaderSizeLimit:   r.Int("header_size_limit"),
		FixLineEndings:    r.String("sendmail_fix_line_endings"),
		SubmitUsers:       r.List("authorized_submit_users"),
		AliasDatabase:     r.List("alias_database"),
		CommandDirectory:  r.String("command_directory"),
		VERPDelimiters:    r.String("default_verp_delimiters"),
		VERPFilter:        r.String("verp_delimiter_filter"),
		MyOrigin:          r.String("myorigin"),
		Maillog:           maillog.PlaceOf(r),
	}
	if err := r.Err(); err != nil {
		return nil, err
	}
	switch cfg.FixLineEndings {
	case "always", "strict", "never":
	default:
		return nil, fmt.Errorf("invalid sendmail_fix_line_endings value: %s", cfg.FixLineEndings)
	}
	return cfg, nil
}

// session is one sendmail run.
type session struct {
	prog string
	o    *options
	cfg  *Config
}

// self is the postern binary sendmail is a personality of.
func self() string {
	exe, err := os.Executable()
	if err != nil {
		return "postern"
	}
	return exe
}

// command finds one of the separate programs (postdrop, postqueue): next
// to this binary, else in command_directory.
func (s *session) command(name string) string {
	p := filepath.Join(filepath.Dir(self()), name)
	if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
		return p
	}
	return filepath.Join(s.cfg.CommandDirectory, name)
}

// verbose adds one -v per sendmail -v to a command's arguments.
func (s *session) verbose(args ...string) []string {
	for range s.o.verbose {
		args = append(args, "-v")
	}
	return args
}

// childEnv is the environment of the programs sendmail runs: its own,
// with MAIL_CONFIG naming the configuration directory of -C.
func (s *session) childEnv() []string {
	env := os.Environ()
	if s.cfg.ConfigDirExplicit {
		env = append(env, config.EnvConfig+"="+s.cfg.Dir)
	}
	return env
}

// run runs a program with sendmail's standard input and output and
// returns its exit status.
func (s *session) run(path string, args ...string) int {
	cmd := exec.Command(path, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = s.childEnv()
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee) && ee.ExitCode() >= 0:
		return ee.ExitCode()
	default:
		fmt.Fprintf(os.Stderr, "%s: fatal: unable to execute %s: %v\n", s.prog, path, err)
		return exitTempFail
	}
}

// loginName is the caller's user name and uid.
func loginName() (string, int) {
	uid := os.Getuid()
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil {
		return u.Username, uid
	}
	return "", uid
}

// submitAllowed applies authorized_submit_users to a user name, as
// postdrop does (which is where it is enforced; sendmail says it
// earlier and more clearly). Tables other than static: are left to
// postdrop.
func submitAllowed(items []string, name string) (bool, error) {
	for _, it := range items {
		neg := strings.HasPrefix(it, "!")
		it = strings.TrimPrefix(it, "!")
		var hit bool
		switch {
		case strings.HasPrefix(it, "static:"):
			hit = true
		case strings.Contains(it, ":"):
			return true, nil
		default:
			hit = strings.EqualFold(it, name)
		}
		if hit {
			return !neg, nil
		}
	}
	return false, nil
}
