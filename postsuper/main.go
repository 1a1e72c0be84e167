package postsuper

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/postern-mta/postern/internal/config"
	"github.com/postern-mta/postern/internal/ident"
	"github.com/postern-mta/postern/internal/maillog"
	"github.com/postern-mta/postern/internal/proto"
	"github.com/postern-mta/postern/queue"
)

const usage = "usage: postsuper [-c config_dir] [-d queue_id (delete)] [-e queue_id (expire)] [-f queue_id (expire and release)] " +
	"[-h queue_id (hold)] [-H queue_id (un-hold)] [-p (purge temporary files)] [-r queue_id (requeue)] " +
	"[-s (structure fix)] [-S (redundant structure fix)] [-v (verbose)] [queue...]"

// reported is an error whose message was already printed: cmd/postern
// only exits with status 1.
type reported struct{}

func (reported) Error() string   { return "" }
func (reported) ExitStatus() int { return 1 }

// Command returns the postsuper command (see the package documentation).
func Command() *cobra.Command {
	var req Request
	var configDir string
	var verbose int
	cmd := &cobra.Command{
		Use:           "postsuper [-psSv] [-c config_dir] [-d|-e|-f|-h|-H|-r queue_id] [queue...]",
		Short:         "queue maintenance for the superuser",
		SilenceErrors: true,
		SilenceUsage:  true,
		RunE: func(cmd *cobra.Command, args []string) error {
			stderr := cmd.ErrOrStderr()
			fatal := func(err error) error {
				if !errors.Is(err, errFatal) {
					fmt.Fprintf(stderr, "postsuper: fatal: %v\n", err)
				}
				return reported{}
			}
			if configDir != "" && !filepath.IsAbs(configDir) {
				return fatal(errors.New("-c requires absolute pathname"))
			}
			cfg, owner, group, logTo, err := loadConfig(config.ResolveDir(configDir))
			if err != nil {
				return fatal(err)
			}
			// Opened before privileges are dropped: the mail log is
			// root's.
			var closeLog func()
			cfg.Log, closeLog = maillog.OpenForCommand(logTo, "postsuper")
			defer closeLog()
			fatal = func(err error) error {
				if !errors.Is(err, errFatal) {
					fmt.Fprintf(stderr, "postsuper: fatal: %v\n", err)
					if cfg.Log != nil {
						cfg.Log.FatalLine("%v", err)
					}
				}
				return reported{}
			}
			if err := checkUser(os.Getuid(), owner, cfg.Layout.Root); err != nil {
				return fatal(err)
			}
			if err := dropPrivs(owner, group); err != nil {
				return fatal(err)
			}
			req.Queues = args
			req.Stdin = cmd.InOrStdin()
			none := len(req.Delete)+len(req.Expire)+len(req.ExpireRelease)+len(req.Requeue)+len(req.Hold)+len(req.Release) == 0
			if none && !req.Structure && !req.Strict && !req.Purge {
				req.Structure, req.Purge = true, true // Postfix's default
			}
			if err := New(cfg, stderr, verbose).Run(context.Background(), req); err != nil {
				return fatal(err)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&configDir, "config", "c", "", "configuration `directory` (default $MAIL_CONFIG or "+config.DefaultDir+")")
	f.StringArrayVarP(&req.Delete, "delete", "d", nil, "delete the message `queue_id` (ALL: every message; -: IDs from standard input)")
	f.StringArrayVarP(&req.Expire, "expire", "e", nil, "force-expire the message `queue_id`")
	f.StringArrayVarP(&req.ExpireRelease, "expire-release", "f", nil, "force-expire the message `queue_id` and release it from hold")
	f.StringArrayVarP(&req.Hold, "hold", "h", nil, "put the message `queue_id` on hold")
	f.StringArrayVarP(&req.Release, "release", "H", nil, "release the message `queue_id` from hold")
	f.StringArrayVarP(&req.Requeue, "requeue", "r", nil, "requeue the message `queue_id` through cleanup")
	f.BoolVarP(&req.Structure, "structure", "s", false, "check and repair the queue's structure")
	f.BoolVarP(&req.Strict, "strict", "S", false, "as -s, and rename messages whose ID does not match their inode")
	f.BoolVarP(&req.Purge, "purge", "p", false, "remove old temporary files")
	f.CountVarP(&verbose, "verbose", "v", "log more")
	// -h is hold, as in Postfix: help only as --help.
	f.Bool("help", false, "show this help")
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		fmt.Fprintf(c.ErrOrStderr(), "postsuper: fatal: %v\npostsuper: fatal: %s\n", err, usage)
		return reported{}
	})
	return cmd
}

// loadConfig reads main.cf into a Config, with mail_owner, setgid_group
// and the mail log's settings.
func loadConfig(dir string) (Config, string, string, maillog.Place, error) {
	cfg, err := config.Load(dir)
	if err != nil {
		return Config{}, "", "", maillog.Place{}, err
	}
	r := cfg.Reader()
	qdir := r.String("queue_directory")
	c := Config{
		Layout:      queue.NewLayout(qdir, r.List("hash_queue_names"), r.Int("hash_queue_depth")),
		CleanupPath: proto.PrivatePath(qdir, r.String("cleanup_service_name")),
		PickupPath:  proto.PublicPath(qdir, r.String("pickup_service_name")),
	}
	owner, group := r.String("mail_owner"), r.String("setgid_group")
	logTo := maillog.PlaceOf(r)
	if err := r.Err(); err != nil {
		return Config{}, "", "", maillog.Place{}, err
	}
	if !filepath.IsAbs(qdir) {
		return Config{}, "", "", maillog.Place{}, fmt.Errorf("%s: queue_directory must be an absolute path: %q", cfg.File(), qdir)
	}
	return c, owner, group, logTo, nil
}

// checkUser lets root and the mail owner in; in development mode, where
// everything runs as one ordinary user, the owner of the queue directory
// is the mail owner.
func checkUser(uid int, owner, queueDir string) error {
	if uid == 0 {
		return nil
	}
	if u, err := user.Lookup(owner); err == nil && u.Uid == strconv.Itoa(uid) {
		return nil
	}
	if fi, err := os.Stat(queueDir); err == nil {
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) == uid {
			return nil
		}
	}
	return errors.New("use of this command is reserved for the superuser")
}

// dropPrivs is dropPrivileges; tests that run the command in their own
// process replace it.
var dropPrivs = dropPrivileges

// dropPrivileges makes root the mail owner for good, as Postfix's
// postsuper does: the daemons work on the queue as the mail owner, so
// directories postsuper makes must be the mail owner's, and a queue
// tampered with cannot lead root's hand elsewhere. The change applies to
// every thread of the process (Go does that on Linux).
func dropPrivileges(owner, group string) error {
	if os.Geteuid() != 0 {
		return nil
	}
	id, err := ident.Lookup(owner, group)
	if err != nil {
		return err
	}
	if err := syscall.Setgroups(nil); err != nil {
		return fmt.Errorf("drop supplementary groups: %w", err)
	}
	if err := syscall.Setgid(id.GID); err != nil {
		return fmt.Errorf("set group ID %d: %w", id.GID, err)
	}
	if err := syscall.Setuid(id.UID); err != nil {
		return fmt.Errorf("set user ID %d: %w", id.UID, err)
	}
	return nil
}
