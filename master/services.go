package master

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strings"

	"github.com/postern-mta/postern/internal/config"
)

// Commands Postern implements, by master.cf command name. The value is the
// daemon to run (a Postfix command name may map to Postern's equivalent).
var commands = map[string]string{
	"smtpd":   "smtpd",
	"qmqpd":   "qmqpd",
	"pickup":  "pickup",
	"cleanup": "cleanup",
	"qmgr":    "qmgr",
	"oqmgr":   "qmgr",
	"bounce":  "bounce",
	"showq":   "showq",
	"smtp":    "smtp",
	"lmtp":    "lmtp",
	"local":   "local",
	"virtual": "virtual",
	"pipe":    "pipe",
	"spawn":   "spawn",
	"error":   "error",
	"retry":   "error",
	"discard": "discard",
}

// Postfix services whose work Postern does inside other daemons or does not
// need: skipped with one warning line each.
var notNeeded = map[string]string{
	"trivial-rewrite": "address rewriting is built into the daemons that need it",
	"tlsmgr":          "TLS session caching is built in",
	"scache":          "connection caching is built into smtp",
	"anvil":           "not implemented yet",
	"proxymap":        "tables are read directly",
	"verify":          "address verification is not implemented yet",
	"flush":           "fast flush is done by qmgr",
	"postlogd":        "master collects every daemon's log",
	"postscreen":      "not implemented yet",
	"dnsblog":         "not implemented yet",
	"tlsproxy":        "not implemented yet",
}

// unchrootable are the daemons that are never chrooted: they start
// helper processes and commands, and write mailboxes, on the real file
// system.
var unchrootable = map[string]bool{"local": true, "virtual": true, "pipe": true, "spawn": true}

// service is one master.cf entry Postern runs.
type service struct {
	config.Service
	daemon  string // the daemon command run for it
	maxProc int    // resolved: 0 means no limit
	// chroot: the child confines itself to the queue directory (chroot
	// y, master runs as root, and the daemon can be chrooted).
	chroot bool
	// addrs are the listen addresses: "host:port" for inet, a socket path
	// for unix.
	addrs []string
}

func (s *service) String() string { return s.Name + "/" + s.Type }

// buildServices turns master.cf entries into the services to run, with a
// warning line for each entry skipped and for each chroot y that cannot
// be honoured.
func buildServices(cfg *Config, entries []config.Service, warn func(string, ...any)) ([]*service, error) {
	var out []*service
	var unconfined []string // chroot y, but master is not root
	for _, e := range entries {
		where := fmt.Sprintf("%s: line %d", e.File, e.Line)
		daemon, ok := commands[e.Command]
		if !ok {
			why := notNeeded[e.Command]
			if why == "" {
				why = "command not implemented by Postern"
			}
			warn("%s: service %s/%s (%s) skipped: %s", where, e.Name, e.Type, e.Command, why)
			continue
		}
		s := &service{Service: e, daemon: daemon}
		switch e.Type {
		case "inet":
			addrs, err := inetAddrs(e.Name, cfg.InetInterfaces, cfg.InetProtocols)
			if err != nil {
				return nil, fmt.Errorf("%s: service %s/inet: %w", where, e.Name, err)
			}
			s.addrs = addrs
		case "unix", "fifo":
			// A fifo was Postfix's old wake-up channel; Postern's clients
			// speak to a stream socket in the same place.
			dir := "private"
			if !e.Private {
				dir = "public"
			}
			s.addrs = []string{filepath.Join(cfg.QueueDir, dir, e.Name)}
		case "pass", "unix-dgram":
			warn("%s: service %s/%s skipped: type %s is not used by Postern", where, e.Name, e.Type, e.Type)
			continue
		default:
			return nil, fmt.Errorf("%s: service %s: unknown type %q", where, e.Name, e.Type)
		}
		if daemon == "pipe" || daemon == "spawn" {
			if why := checkProgram(e.Args); why != "" {
				warn("%s: service %s/%s (%s) skipped: %s", where, e.Name, e.Type, e.Command, why)
				continue
			}
		}
		s.maxProc = e.MaxProc
		if s.maxProc < 0 {
			s.maxProc = cfg.DefaultProcessLimit
		}
		if e.Chroot {
			switch {
			case !cfg.Root:
				unconfined = append(unconfined, s.String())
			case unchrootable[daemon]:
				warn("%s: service %s/%s (%s): chroot y ignored: %s starts commands and writes mailboxes on the real file system, so it always runs unchrooted",
					where, e.Name, e.Type, e.Command, daemon)
			default:
				s.chroot = true
			}
		}
		out = append(out, s)
	}
	if len(unconfined) > 0 {
		warn("chroot needs root privileges: %s run unchrooted", strings.Join(unconfined, ", "))
	}
	return out, nil
}

// checkProgram looks at a pipe or spawn service's user= and argv= so that
// a stock master.cf naming programs this host lacks (maildrop, uucp, …)
// starts with a warning instead of a child that fails on every delivery.
func checkProgram(args []string) string {
	var usr, prog string
	for i, a := range args {
		switch {
		case strings.HasPrefix(a, "user="):
			usr, _, _ = strings.Cut(strings.TrimPrefix(a, "user="), ":")
		case strings.HasPrefix(a, "argv="):
			prog = strings.TrimPrefix(a, "argv=")
			if prog == "" && i+1 < len(args) {
				prog = args[i+1]
			}
		}
		if prog != "" {
			break
		}
	}
	if prog == "" {
		return "no argv= program"
	}
	if _, err := os.Stat(prog); err != nil {
		return fmt.Sprintf("program %s: %v", prog, err)
	}
	if usr != "" {
		if _, err := user.Lookup(usr); err != nil {
			return fmt.Sprintf("user %s does not exist", usr)
		}
	}
	return ""
}
