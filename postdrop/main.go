package postdrop

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/postern-mta/postern/internal/config"
	"github.com/postern-mta/postern/internal/maillog"
	"github.com/postern-mta/postern/internal/maps"
	"github.com/postern-mta/postern/internal/proto"
	"github.com/postern-mta/postern/queue"
)

// exitTempFail is EX_TEMPFAIL: every failure of postdrop exits with it, so
// that sendmail and smtpd -S report a temporary failure.
const exitTempFail = 75

// fatal is an error that ends postdrop.
type fatal struct{ msg string }

func (f *fatal) Error() string { return f.msg }

func fatalf(format string, args ...any) error {
	return &fatal{fmt.Sprintf(format, args...)}
}

// Config is what postdrop reads from main.cf.
type Config struct {
	QueueDir         string
	HashQueueNames   []string
	HashQueueDepth   int
	MessageSizeLimit int64
	SubmitUsers      []string // authorized_submit_users
	PickupService    string
	Maillog          maillog.Place // where warnings and fatal errors are logged too
}

// Main runs postdrop with args and returns the exit status. Its
// environment is cleared before anything else: a set-group-ID program
// must not let the caller's environment steer it.
func Main(args []string) int {
	mailConfig := os.Getenv(config.EnvConfig)
	os.Clearenv()
	// A write to a closed standard output must be an error to handle,
	// not a signal that kills postdrop with its file half written.
	signal.Ignore(syscall.SIGPIPE)
	if err := run(args, mailConfig, os.Stdin, os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "postdrop: fatal: %v\n", err)
		return exitTempFail
	}
	return 0
}

// setgid reports whether postdrop runs with a group that is not the
// caller's: then it must not trust the caller's choice of configuration.
func setgid() bool { return os.Getegid() != os.Getgid() }

func run(args []string, mailConfig string, in io.Reader, out io.Writer) (err error) {
	dirFlag, err := parseArgs(args)
	if err != nil {
		return err
	}
	if dirFlag == "" {
		dirFlag = mailConfig
	}
	dir := config.ResolveDir(dirFlag)
	if setgid() {
		if err := trustedDir(dir); err != nil {
			return err
		}
	}
	cfg, err := readConfig(dir)
	if err != nil {
		return err
	}
	// Its fatal errors also go to the mail log when postdrop may write
	// there, as Postfix's postdrop logs them.
	if log, closeLog := maillog.OpenForCommand(cfg.Maillog, "postdrop"); log != nil {
		defer closeLog()
		defer func() {
			if err != nil {
				log.FatalLine("%v", err)
			}
		}()
	}
	uid := os.Getuid()
	name := strconv.Itoa(uid)
	if u, err := user.LookupId(name); err == nil {
		name = u.Username
	}
	ok, err := submitAllowed(cfg.SubmitUsers, name)
	if err != nil {
		return fatalf("authorized_submit_users: %v", err)
	}
	if !ok {
		return fatalf("User %s(%d) is not allowed to submit mail", name, uid)
	}
	return drop(cfg, uid, in, out)
}

// parseArgs reads "postdrop [-rv] [-c config_dir]": -r (raw input, the
// only kind there is) and -v (verbose) change nothing.
func parseArgs(args []string) (dir string, err error) {
	usage := fatalf("usage: postdrop [-rv] [-c config_dir]")
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			if i+1 < len(args) {
				return "", usage
			}
			break
		}
		if len(a) < 2 || a[0] != '-' {
			return "", usage
		}
		for j := 1; j < len(a); j++ {
			switch a[j] {
			case 'r', 'v':
			case 'c':
				switch {
				case j+1 < len(a):
					dir = a[j+1:]
				case i+1 < len(args):
					i++
					dir = args[i]
				default:
					return "", usage
				}
				j = len(a)
			default:
				return "", usage
			}
		}
	}
	return dir, nil
}

// trustedDir allows a configuration directory other than the default
// only when the default main.cf lists it in alternate_config_directories
// or multi_instance_directories.
func trustedDir(dir string) error {
	def := config.ResolveDir(config.DefaultDir)
	if filepath.Clean(dir) == def {
		return nil
	}
	c, err := config.Load(def)
	if err != nil {
		return err
	}
	r := c.Reader()
	allowed := append(r.List("alternate_config_directories"), r.List("multi_instance_directories")...)
	if err := r.Err(); err != nil {
		return err
	}
	for _, a := range allowed {
		if filepath.Clean(a) == filepath.Clean(dir) {
			return nil
		}
	}
	return fatalf("untrusted configuration directory name: %s", dir)
}

func readConfig(dir string) (*Config, error) {
	c, err := config.Load(dir)
	if err != nil {
		return nil, err
	}
	r := c.Reader()
	cfg := &Config{
		QueueDir:         r.String("queue_directory"),
		HashQueueNames:   r.List("hash_queue_names"),
		HashQueueDepth:   r.Int("hash_queue_depth"),
		MessageSizeLimit: r.Size("message_size_limit"),
		SubmitUsers:      r.List("authorized_submit_users"),
		PickupService:    r.String("pickup_service_name"),
		Maillog:          maillog.PlaceOf(r),
	}
	return cfg, r.Err()
}

// submitAllowed applies authorized_submit_users to a user name: the first
// item that matches decides ("!item" refuses); "static:anyone" (any
// static: table) matches everyone; another type:table matches the names
// it finds. Nothing matching refuses.
func submitAllowed(items []string, name string) (bool, error) {
	for _, it := range items {
		neg := strings.HasPrefix(it, "!")
		it = strings.TrimPrefix(it, "!")
		var hit bool
		switch {
		case strings.HasPrefix(it, "static:"):
			hit = true
		case strings.Contains(it, ":"):
			opt := maps.DefaultOptions()
			opt.NoReload = true
			t, err := maps.Open(it, opt)
			if err != nil {
				return false, err
			}
			_, found, err := t.Lookup(context.Background(), name)
			if err != nil {
				return false, err
			}
			hit = found
		default:
			hit = strings.EqualFold(it, name)
		}
		if hit {
			return !neg, nil
		}
	}
	return false, nil
}

// Limits on what a submission may carry.
const (
	maxAddr       = 4096
	maxRecipients = 100000
	maxFullName   = 1024
	maxEnvID      = 100
)

// keptAttrs are the attributes postdrop takes from a submission; the
// client_* and helo attributes that smtpd -S sends are dropped quietly
// (they describe nobody mail can be traced to), anything else with a
// warning.
var keptAttrs = []string{
	proto.AttrEncoding, proto.AttrSMTPUTF8, proto.AttrLogIdent, proto.AttrRewriteContext,
	proto.AttrDSNNotify, proto.AttrVERP,
}

var quietAttrs = []string{
	proto.AttrClientName, proto.AttrClientAddr, proto.AttrClientPort, proto.AttrReverseName,
	proto.AttrHeloName, proto.AttrProtocol,
}

// envelope checks a submission and makes the maildrop file's envelope.
// The uid is the caller's, never one from the input.
func envelope(o *proto.CleanupOpen, uid int) (*queue.Envelope, error) {
	bad := func(what string, v string) error {
		return fatalf("uid=%d: malformed %s: %q", uid, what, clip(v))
	}
	if !cleanAddr(o.Sender) {
		return nil, bad("sender address", o.Sender)
	}
	if len(o.Recipients) > maxRecipients {
		return nil, fatalf("uid=%d: too many recipients (%d)", uid, len(o.Recipients))
	}
	e := &queue.Envelope{Sender: o.Sender, FullName: cleanText(o.FullName, maxFullName)}
	for _, r := range o.Recipients {
		if !cleanAddr(r.Addr) || !cleanAddr(r.Orig) || !cleanAddr(r.ORCPT) || !validNotify(r.Notify) {
			return nil, bad("recipient", r.Addr)
		}
		e.Recipients = append(e.Recipients, queue.Recipient{Addr: r.Addr, Orig: r.Orig, Notify: r.Notify, ORCPT: r.ORCPT})
	}
	switch o.DSNRet {
	case "", "FULL", "HDRS":
		e.DSNRet = o.DSNRet
	default:
		return nil, bad("DSN RET", o.DSNRet)
	}
	if len(o.DSNEnvID) > maxEnvID || cleanText(o.DSNEnvID, maxEnvID) != o.DSNEnvID {
		return nil, bad("DSN ENVID", o.DSNEnvID)
	}
	e.DSNEnvID = o.DSNEnvID
	e.Attrs = append(e.Attrs, queue.Attr{Name: proto.AttrUID, Value: strconv.Itoa(uid)})
	if o.Flags&proto.CleanupExtractRcpt != 0 {
		e.Attrs = append(e.Attrs, queue.Attr{Name: proto.AttrExtractRcpt, Value: "yes"})
	}
	for _, a := range o.Attrs {
		switch {
		case slices.Contains(keptAttrs, a.Name):
			if len(a.Value) > maxAddr || cleanText(a.Value, maxAddr) != a.Value {
				return nil, bad("attribute "+a.Name, a.Value)
			}
			e.Attrs = append(e.Attrs, queue.Attr{Name: a.Name, Value: a.Value})
		case slices.Contains(quietAttrs, a.Name):
		default:
			fmt.Fprintf(os.Stderr, "postdrop: warning: uid=%d: ignoring attribute record: %s=%s\n", uid, clip(a.Name), clip(a.Value))
		}
	}
	if o.Flags&proto.CleanupVerify != 0 {
		e.Flags |= queue.FlagVerify
	}
	if o.Flags&proto.CleanupTrace != 0 {
		e.Flags |= queue.FlagTrace
	}
	return e, nil
}

// cleanAddr accepts an address without control characters, of a sane
// length.
func cleanAddr(a string) bool {
	return len(a) <= maxAddr && strings.IndexFunc(a, func(r rune) bool { return r < ' ' || r == 0x7f }) < 0
}

func cleanText(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return -1
		}
		return r
	}, s)
	if len(s) > n {
		s = s[:n]
	}
	return s
}

func validNotify(n string) bool {
	if n == "" || n == "NEVER" {
		return true
	}
	for _, w := range strings.Split(n, ",") {
		if w != "SUCCESS" && w != "DELAY" && w != "FAILURE" {
			return false
		}
	}
	return true
}

func clip(s string) string {
	if len(s) > 100 {
		return s[:100] + "..."
	}
	return s
}

// drop reads one submission from in and writes it into maildrop/. The
// answers (the maildrop queue ID, then the result) go to out.
func drop(cfg *Config, uid int, in io.Reader, out io.Writer) error {
	srv := proto.CleanupServer{C: proto.NewStreamConn(in, out)}
	o, err := srv.Next()
	if err != nil {
		return fatalf("uid=%d: read submission: %v", uid, err)
	}
	e, err := envelope(o, uid)
	if err != nil {
		return err
	}
	// A signal (sendmail giving up, a user's ^C) removes the unfinished
	// file quietly; mu keeps that from racing with the commit.
	var mu sync.Mutex
	var w *queue.Writer
	committed := false
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT)
	defer signal.Stop(sigs)
	go func() {
		if _, ok := <-sigs; !ok {
			return
		}
		mu.Lock()
		if w != nil && !committed {
			w.Abort()
		}
		os.Exit(exitTempFail)
	}()
	layout := queue.NewLayout(cfg.QueueDir, cfg.HashQueueNames, cfg.HashQueueDepth)
	mu.Lock()
	w, err = layout.NewWriter(queue.Maildrop)
	mu.Unlock()
	if err != nil {
		return fatalf("uid=%d: %v", uid, err)
	}
	defer func() {
		mu.Lock()
		defer mu.Unlock()
		if !committed {
			w.Abort()
		}
	}()
	srv.Opened(proto.CleanupOpened{QueueID: w.ID()}) //nolint:errcheck // the submitter may not read answers
	w.SetEnvelope(e)
	_, err = copyLimited(w, srv.Content(), cfg.MessageSizeLimit)
	switch {
	case errors.Is(err, errTooBig):
		return fatalf("uid=%d: message file too big", uid)
	case err != nil:
		return fatalf("uid=%d: read message: %v", uid, err)
	}
	mu.Lock()
	err = w.Commit()
	committed = err == nil
	mu.Unlock()
	if err != nil {
		return fatalf("uid=%d: %v", uid, err)
	}
	srv.Done(proto.CleanupResult{QueueID: w.ID()}) //nolint:errcheck // the file is safe; the exit status says so too
	// Wake pickup; when the mail system is down the file waits.
	proto.Nudge(proto.PublicPath(cfg.QueueDir, cfg.PickupService), proto.ServicePickup, proto.VersionPickup) //nolint:errcheck
	return nil
}

var errTooBig = errors.New("message too big")

// copyLimited copies the content, at most limit bytes (0: no limit).
func copyLimited(w io.Writer, r io.Reader, limit int64) (int64, error) {
	if limit <= 0 {
		return io.Copy(w, r)
	}
	n, err := io.Copy(w, io.LimitReader(r, limit+1))
	if err != nil {
		return n, err
	}
	if n > limit {
		return n, errTooBig
	}
	return n, nil
}
