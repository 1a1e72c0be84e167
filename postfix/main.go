package postfix

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/postern-mta/postern/internal/config"
	"github.com/postern-mta/postern/internal/ident"
	"github.com/postern-mta/postern/internal/proto"
	"github.com/postern-mta/postern/queue"
)

// Config is what the control command needs.
type Config struct {
	Dir            string
	QueueDir       string
	MailOwner      string
	SetgidGroup    string
	StopTimeout    time.Duration
	StartTimeout   time.Duration
	CommandDir     string
	HashQueueNames []string
	HashQueueDepth int
}

func load(dir string) (*Config, *config.Config, error) {
	cfg, err := config.Load(dir)
	if err != nil {
		return nil, nil, err
	}
	r := cfg.Reader()
	c := &Config{
		Dir:            cfg.Dir(),
		QueueDir:       r.String("queue_directory"),
		MailOwner:      r.String("mail_owner"),
		SetgidGroup:    r.String("setgid_group"),
		StopTimeout:    r.Duration("postern_stop_timeout"),
		StartTimeout:   r.Duration("postern_start_timeout"),
		CommandDir:     r.String("command_directory"),
		HashQueueNames: r.List("hash_queue_names"),
		HashQueueDepth: r.Int("hash_queue_depth"),
	}
	if c.StartTimeout <= 0 {
		c.StartTimeout = 60 * time.Second
	}
	return c, cfg, r.Err()
}

// errExit carries an exit status without another message.
type errExit int

func (e errExit) Error() string { return "" }

// ExitStatus is the status the command exits with.
func (e errExit) ExitStatus() int { return int(e) }

// Command returns the postfix command.
func Command() *cobra.Command {
	var dirFlag string
	root := &cobra.Command{
		Use:           "postfix [-c config_dir] command",
		Short:         "Start, stop, reload and check the Postern mail system",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringVarP(&dirFlag, "config", "c", "", "configuration directory")
	root.PersistentFlags().BoolP("debug", "D", false, "ignored (Postfix compatibility)")
	root.PersistentFlags().CountP("verbose", "v", "ignored (Postfix compatibility)")
	sub := func(name, short string, run func(*Config, *config.Config) error) {
		root.AddCommand(&cobra.Command{
			Use:   name,
			Short: short,
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				c, raw, err := load(config.ResolveDir(dirFlag))
				if err != nil {
					return err
				}
				return run(c, raw)
			},
		})
	}
	sub("check", "check the configuration and the queue directories", check)
	sub("start", "start the mail system in the background", start)
	sub("start-fg", "run the mail system in the foreground", startFg)
	sub("stop", "stop the mail system gracefully", func(c *Config, _ *config.Config) error { return stop(c, syscall.SIGTERM) })
	sub("abort", "stop the mail system at once", func(c *Config, _ *config.Config) error { return stop(c, syscall.SIGQUIT) })
	sub("reload", "re-read the configuration", reload)
	sub("status", "tell whether the mail system is running", status)
	sub("flush", "try all deferred mail now", flush)
	sub("set-permissions", "fix owners and modes", setPermissions)
	return root
}

// Main runs the command with args and returns the exit status.
func Main(args []string) int {
	cmd := Command()
	cmd.SetArgs(args)
	if err := cmd.Execute(); err != nil {
		var ee errExit
		if errors.As(err, &ee) {
			return ee.ExitStatus()
		}
		fmt.Fprintf(os.Stderr, "postfix: fatal: %v\n", err)
		return 1
	}
	return 0
}

func say(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "postfix/postfix-script: "+format+"\n", args...)
}

// running returns master's pid when it holds its lock.
func running(queueDir string) (int, bool) {
	path := filepath.Join(queueDir, "pid", "master.pid")
	f, err := os.Open(path)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB); err == nil {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN) //nolint:errcheck // we only probed
		return 0, false
	}
	data, err := io.ReadAll(io.LimitReader(f, 64))
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 0 {
		return 0, false
	}
	return pid, true
}

func check(c *Config, raw *config.Config) error {
	entries, err := config.LoadMaster(c.Dir)
	if err != nil {
		return err
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name)
	}
	for _, o := range raw.Unused(names) {
		fmt.Fprintf(os.Stderr, "postfix: warning: %s: unused parameter: %s=%s\n", raw.File(), o.Name, o.Value)
	}
	id, err := ident.Lookup(c.MailOwner, c.SetgidGroup)
	if err != nil {
		return err
	}
	layout := queue.NewLayout(c.QueueDir, c.HashQueueNames, c.HashQueueDepth)
	if err := layout.MakeDirs(id.Owners()); err != nil {
		return fmt.Errorf("create queue directories: %w", err)
	}
	return nil
}

func start(c *Config, raw *config.Config) error {
	if err := check(c, raw); err != nil {
		return err
	}
	if pid, ok := running(c.QueueDir); ok {
		return fmt.Errorf("the Postern mail system is already running (pid %d)", pid)
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find own binary: %w", err)
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return err
	}
	defer pr.Close()
	devnull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer devnull.Close()
	cmd := exec.Command(exe, "master", "-c", c.Dir, "-s", "3")
	cmd.Args[0] = "postern"
	cmd.Stdin, cmd.Stdout, cmd.Stderr = devnull, devnull, devnull
	cmd.ExtraFiles = []*os.File{pw}
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		pw.Close()
		return fmt.Errorf("start master: %w", err)
	}
	pw.Close()
	say("starting the Postern mail system")
	done := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(pr).ReadString('\n')
		done <- strings.TrimSpace(line)
	}()
	select {
	case msg := <-done:
		cmd.Process.Release() //nolint:errcheck // master lives on, detached
		switch msg {
		case "ok":
			return nil
		case "":
			return errors.New("master exited during startup; see the mail log")
		default:
			return errors.New(msg)
		}
	case <-time.After(c.StartTimeout + 10*time.Second):
		cmd.Process.Kill() //nolint:errcheck
		return fmt.Errorf("master did not report ready within %s", c.StartTimeout+10*time.Second)
	}
}

func startFg(c *Config, raw *config.Config) error {
	if err := check(c, raw); err != nil {
		return err
	}
	if pid, ok := running(c.QueueDir); ok {
		return fmt.Errorf("the Postern mail system is already running (pid %d)", pid)
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find own binary: %w", err)
	}
	return syscall.Exec(exe, []string{"postern", "master", "-c", c.Dir, "-f"}, os.Environ())
}

func stop(c *Config, sig syscall.Signal) error {
	pid, ok := running(c.QueueDir)
	if !ok {
		return errors.New("the Postern mail system is not running")
	}
	if sig == syscall.SIGQUIT {
		say("aborting the Postern mail system")
	} else {
		say("stopping the Postern mail system")
	}
	if err := syscall.Kill(pid, sig); err != nil {
		return fmt.Errorf("signal master (pid %d): %w", pid, err)
	}
	deadline := time.Now().Add(c.StopTimeout + 15*time.Second)
	for time.Now().Before(deadline) {
		if _, ok := running(c.QueueDir); !ok && syscall.Kill(pid, 0) != nil {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("master (pid %d) is still running after %s", pid, c.StopTimeout+15*time.Second)
}

func reload(c *Config, _ *config.Config) error {
	pid, ok := running(c.QueueDir)
	if !ok {
		return errors.New("the Postern mail system is not running")
	}
	say("refreshing the Postern mail system")
	if err := syscall.Kill(pid, syscall.SIGHUP); err != nil {
		return fmt.Errorf("signal master (pid %d): %w", pid, err)
	}
	return nil
}

func status(c *Config, _ *config.Config) error {
	pid, ok := running(c.QueueDir)
	if !ok {
		say("the Postern mail system is not running")
		return errExit(1)
	}
	say("the Postern mail system is running: PID: %d", pid)
	return nil
}

func flush(c *Config, _ *config.Config) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := proto.Control(ctx, proto.PublicPath(c.QueueDir, proto.ServiceQmgr), proto.ServiceQmgr, proto.VersionQmgr, proto.ControlRequest{Op: proto.OpFlush})
	if err != nil {
		return fmt.Errorf("flush: %w", err)
	}
	return nil
}

func setPermissions(c *Config, raw *config.Config) error {
	if err := check(c, raw); err != nil {
		return err
	}
	id, err := ident.Lookup(c.MailOwner, c.SetgidGroup)
	if err != nil {
		return err
	}
	if !id.Root {
		return nil
	}
	layout := queue.NewLayout(c.QueueDir, c.HashQueueNames, c.HashQueueDepth)
	for _, q := range []string{queue.Maildrop, queue.Incoming, queue.Active, queue.Deferred, queue.Hold, queue.Corrupt, queue.Bounce, queue.Defer, queue.Trace, queue.Saved} {
		err := filepath.Walk(layout.Dir(q), func(path string, fi os.FileInfo, err error) error {
			if err != nil || fi.IsDir() {
				return nil
			}
			gid := id.GID
			if q == queue.Maildrop {
				gid = id.SetgidGID
			}
			return os.Lchown(path, id.UID, gid)
		})
		if err != nil {
			return fmt.Errorf("set owner of %s files: %w", q, err)
		}
	}
	for _, name := range []string{"postdrop", "postqueue"} {
		path := filepath.Join(c.CommandDir, name)
		if _, err := os.Stat(path); err != nil {
			continue
		}
		if err := os.Chown(path, 0, id.SetgidGID); err != nil {
			return fmt.Errorf("set group of %s: %w", path, err)
		}
		if err := os.Chmod(path, 0o755|os.ModeSetgid); err != nil {
			return fmt.Errorf("set mode of %s: %w", path, err)
		}
	}
	return nil
}
