package master

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"syscall"
	"time"

	"github.com/postern-mta/postern/internal/config"
	"github.com/postern-mta/postern/internal/daemon"
	"github.com/postern-mta/postern/internal/ident"
	"github.com/postern-mta/postern/internal/maillog"
	"github.com/postern-mta/postern/queue"
)

// Config is what master needs from main.cf and master.cf.
type Config struct {
	ConfigDir           string
	QueueDir            string
	MailOwner           string
	SetgidGroup         string
	SyslogName          string
	MaillogFile         string
	MaillogPrefixes     []string
	Foreground          bool
	InetInterfaces      []string
	InetProtocols       string
	DefaultProcessLimit int
	ThrottleTime        time.Duration
	StopTimeout         time.Duration
	StartTimeout        time.Duration
	ImportEnvironment   []string
	HashQueueNames      []string
	HashQueueDepth      int

	// Root: master runs as root, so it can chroot services and start
	// them as mail_owner.
	Root bool

	services []*service
	warnings []string
}

// newConfig copies the parameters master uses out of cfg and builds the
// service table from master.cf.
func newConfig(cfg *config.Config, entries []config.Service, foreground bool) (*Config, error) {
	r := cfg.Reader()
	c := &Config{
		ConfigDir:           cfg.Dir(),
		QueueDir:            r.String("queue_directory"),
		MailOwner:           r.String("mail_owner"),
		SetgidGroup:         r.String("setgid_group"),
		SyslogName:          r.String("syslog_name"),
		MaillogFile:         r.String("maillog_file"),
		MaillogPrefixes:     r.List("maillog_file_prefixes"),
		Foreground:          foreground,
		InetInterfaces:      r.List("inet_interfaces"),
		InetProtocols:       r.String("inet_protocols"),
		DefaultProcessLimit: r.Int("default_process_limit"),
		ThrottleTime:        r.Duration("service_throttle_time"),
		StopTimeout:         r.Duration("postern_stop_timeout"),
		StartTimeout:        r.Duration("postern_start_timeout"),
		ImportEnvironment:   r.List("import_environment"),
		HashQueueNames:      r.List("hash_queue_names"),
		HashQueueDepth:      r.Int("hash_queue_depth"),
		Root:                os.Geteuid() == 0,
	}
	if err := r.Err(); err != nil {
		return nil, err
	}
	if c.StartTimeout <= 0 {
		c.StartTimeout = 60 * time.Second
	}
	if c.MaillogFile != "" && len(c.MaillogPrefixes) > 0 && !hasAnyPrefix(c.MaillogFile, c.MaillogPrefixes) {
		return nil, fmt.Errorf("maillog_file value '%s' does not match any prefix in maillog_file_prefixes", c.MaillogFile)
	}
	services, err := buildServices(c, entries, func(f string, a ...any) {
		c.warnings = append(c.warnings, fmt.Sprintf(f, a...))
	})
	if err != nil {
		return nil, err
	}
	c.services = services
	return c, nil
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if len(s) >= len(p) && s[:len(p)] == p {
			return true
		}
	}
	return false
}

// Main runs master: "postern master [-c dir] [-f] [-s fd]". With -f it
// logs to standard error unless maillog_file is set; -s names a descriptor
// on which it reports "ok" once every service is ready, or the reason it
// could not start (how "postfix start" knows). It returns the exit status.
func Main(args []string) int {
	// Master's work is bookkeeping (and the log lines of children that
	// are starting): one thread does it with fewer wake-ups than several.
	runtime.GOMAXPROCS(1)
	fs := flag.NewFlagSet("master", flag.ContinueOnError)
	dirFlag := fs.String("c", "", "configuration directory")
	fg := fs.Bool("f", false, "foreground: log to standard error")
	startFD := fs.Int("s", -1, "descriptor to report startup on")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	var report io.WriteCloser
	if *startFD >= 0 {
		report = os.NewFile(uintptr(*startFD), "startup")
	}
	fail := func(err error) int {
		fmt.Fprintf(os.Stderr, "postern/master: fatal: %v\n", err)
		if report != nil {
			fmt.Fprintf(report, "%v\n", err)
			report.Close()
		}
		return 1
	}
	dir := config.ResolveDir(*dirFlag)
	load := loader(dir, *fg)
	cfg, err := load()
	if err != nil {
		return fail(err)
	}
	id, err := ident.Lookup(cfg.MailOwner, cfg.SetgidGroup)
	if err != nil {
		return fail(err)
	}
	layout := queue.NewLayout(cfg.QueueDir, cfg.HashQueueNames, cfg.HashQueueDepth)
	if err := layout.MakeDirs(id.Owners()); err != nil {
		return fail(fmt.Errorf("create queue directories: %w", err))
	}
	lock, err := lockPid(cfg.QueueDir)
	if err != nil {
		return fail(err)
	}
	defer lock.Close()
	if err := prepareJail(cfg); err != nil {
		return fail(err)
	}
	host, _ := os.Hostname()
	sk, err := openSink(cfg.MaillogFile, cfg.Foreground, host)
	if err != nil {
		return fail(err)
	}
	defer sk.close()
	exe, err := os.Executable()
	if err != nil {
		return fail(fmt.Errorf("find own binary: %w", err))
	}
	build, err := daemon.BuildID()
	if err != nil {
		return fail(err)
	}
	devnull, err := syscall.Open(os.DevNull, syscall.O_RDWR|syscall.O_CLOEXEC, 0)
	if err != nil {
		return fail(fmt.Errorf("open %s: %w", os.DevNull, err))
	}
	m := &Master{
		devnull: devnull,
		cfg:     cfg,
		load:    load,
		sink:    sk,
		log:     maillog.New(sk, cfg.SyslogName, "master", os.Getpid()),
		exe:     exe,
		buildID: build,
		ident:   id,
	}
	for _, w := range cfg.warnings {
		m.log.Warning("%s", w)
	}
	if report != nil {
		m.startup = func(err error) {
			if err == nil {
				fmt.Fprintf(report, "ok\n")
			} else {
				fmt.Fprintf(report, "%v\n", err)
			}
			report.Close()
			report = nil
		}
	}
	// No cleanup runs yet: a file one was writing is a leftover of a crash
	// (or the file a kept connection had reserved; see cleanup).
	for _, q := range []string{queue.Incoming, queue.Hold} {
		if n, err := layout.RemoveTemp(q); err != nil {
			m.log.Warning("%v", err)
		} else if n > 0 {
			m.log.Info("removed %d unfinished queue files from %s", n, q)
		}
	}
	err = m.run()
	os.Remove(pidPath(cfg.QueueDir))
	if err != nil {
		m.log.Info("fatal: %v", err)
		if errors.Is(err, errStartup) && report != nil {
			fmt.Fprintf(report, "%v\n", err)
			report.Close()
		}
		return 1
	}
	return 0
}
