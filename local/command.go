package local

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/postern-mta/postern/internal/privexec"
	"github.com/postern-mta/postern/internal/privexec/mailbox"
	"github.com/postern-mta/postern/internal/proto"
)

// command pipes the message into a command ("|cmd" in a list, or
// mailbox_command) with u's rights, default_privs for none or root.
func (d *delivery) command(ctx context.Context, s state, u userAttr, command string) {
	m := d.m
	cfg := &m.a.cfg
	cred := d.credFor(u)
	if m.dup.beenHere(fmt.Sprintf("command %s:%d %s", s.user, cred.UID, command)) {
		return
	}
	if m.verify() {
		d.sent(s, proto.ActionDelivered, "delivers to command: %s", command)
		return
	}
	dir := cfg.QueueDir
	if cfg.ExecDirectory != "" {
		x, err := cfg.Expand(cfg.ExecDirectory, d.expandVars(s, u, cfg.ExecDirExpansionFilter))
		if err != nil {
			m.a.log.Warning("bad parameter value syntax for command_execution_directory: %s", cfg.ExecDirectory)
			d.fail(s, "4.3.5", "mail system configuration error")
			return
		}
		if x != "" {
			dir = x
		}
	}
	delivered := ""
	if cfg.DeliveredHeader&deliveredCommand != 0 {
		delivered = s.delivered
	}
	msg := d.formatted(mailbox.CopyOptions{FromLine: true, ReturnPath: true, Sender: m.req.Sender,
		OrigRcpt: d.origTo, DeliveredTo: delivered})
	defer msg.Close()
	res, err := privexec.RunCommand(ctx, &privexec.Command{
		Argv:      shellArgv(command, cfg.CommandShell),
		Env:       d.commandEnv(s, u),
		Dir:       dir,
		Cred:      cred,
		Stdin:     msg,
		TimeLimit: cfg.CommandTimeLimit,
	})
	if err != nil {
		m.a.log.Warning("%s: command %s: %v", m.req.QueueID, command, err)
		d.fail(s, "4.3.0", "cannot run command: %s", command)
		return
	}
	if res.StartErr != nil {
		m.a.log.Warning("%s: command %s: %v", m.req.QueueID, command, res.StartErr)
	}
	if st := res.Status(command); st != nil {
		d.failStatus(s, st)
		return
	}
	d.sent(s, proto.ActionDelivered, "delivered to command: %s", command)
}

// shellSafe are the characters of a command that runs without a shell:
// anything else (quotes, $, redirections, …) needs /bin/sh.
const shellSafe = "1234567890!@%-_=+:,./abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ \t"

// shellArgv turns a command line into an argv as Postfix does: through
// local_command_shell when it is set, through /bin/sh -c when the line
// has shell syntax or names a program not found on the PATH (a shell
// built-in), else split on white space and executed directly.
func shellArgv(command, shell string) []string {
	if shell != "" {
		return append(strings.Fields(shell), command)
	}
	for i := 0; i < len(command); i++ {
		if strings.IndexByte(shellSafe, command[i]) < 0 {
			return []string{"/bin/sh", "-c", command}
		}
	}
	argv := strings.Fields(command)
	if len(argv) == 0 {
		return []string{"/bin/sh", "-c", command}
	}
	if !strings.Contains(argv[0], "/") && !onPath(argv[0]) {
		return []string{"/bin/sh", "-c", command}
	}
	return argv
}

// commandPath is the PATH of commands local runs.
const commandPath = "/usr/bin:/bin"

func onPath(name string) bool {
	for _, dir := range strings.Split(commandPath, ":") {
		if fi, err := os.Stat(dir + "/" + name); err == nil && fi.Mode().IsRegular() {
			return true
		}
	}
	return false
}

// commandEnv is the environment of a command: export_environment, PATH,
// and what local(8) tells about the recipient and the message, with
// characters outside command_expansion_filter replaced by '_'.
func (d *delivery) commandEnv(s state, u userAttr) []string {
	m := d.m
	cfg := &m.a.cfg
	env := exportEnv(cfg.ExportEnvironment)
	env = append(env, "PATH="+commandPath)
	add := func(name, value string) {
		env = append(env, name+"="+censor(value, cfg.CommandExpansionFilter))
	}
	if u.set && u.home != "" {
		add("HOME", u.home)
	}
	add("LOGNAME", s.user)
	add("USER", s.user)
	add("SENDER", m.req.Sender)
	add("RECIPIENT", s.addr)
	add("LOCAL", s.local)
	if u.set && u.shell != "" {
		add("SHELL", u.shell)
	}
	if s.domain != "" {
		add("DOMAIN", s.domain)
	}
	if s.ext != "" {
		add("EXTENSION", s.ext)
	}
	if d.origTo != "" {
		add("ORIGINAL_RECIPIENT", d.origTo)
	}
	for _, kv := range [][2]string{
		{"CLIENT_HOSTNAME", proto.AttrClientName},
		{"CLIENT_ADDRESS", proto.AttrClientAddr},
		{"CLIENT_HELO", proto.AttrHeloName},
		{"CLIENT_PROTOCOL", proto.AttrProtocol},
		{"SASL_METHOD", proto.AttrSASLMethod},
		{"SASL_SENDER", proto.AttrSASLSender},
		{"SASL_USERNAME", proto.AttrSASLUsername},
	} {
		if v := proto.Lookup(m.req.Attrs, kv[1]); v != "" {
			add(kv[0], v)
		}
	}
	return env
}

// exportEnv gives the export_environment variables: NAME passes the
// agent's own value on, NAME=value sets one.
func exportEnv(names []string) []string {
	var env []string
	for _, n := range names {
		if strings.Contains(n, "=") {
			env = append(env, n)
		} else if v, ok := os.LookupEnv(n); ok {
			env = append(env, n+"="+v)
		}
	}
	return env
}

// file appends the message to a file (/path in a list) with u's rights,
// default_privs for none or root; a path ending in '/' is a Maildir.
func (d *delivery) file(ctx context.Context, s state, u userAttr, path string) {
	m := d.m
	cfg := &m.a.cfg
	cred := d.credFor(u)
	if m.dup.beenHere(fmt.Sprintf("file %d %s", cred.UID, path)) {
		return
	}
	if cfg.AllowFiles&s.expType == 0 {
		d.fail(s, "5.7.1", "mail to file is restricted")
		return
	}
	if strings.HasSuffix(path, "/") {
		d.maildir(ctx, s, cred, path)
		return
	}
	if m.verify() {
		d.sent(s, proto.ActionDelivered, "delivers to file: %s", path)
		return
	}
	delivered := ""
	if cfg.DeliveredHeader&deliveredFile != 0 {
		delivered = s.delivered
	}
	msg := d.formatted(mailbox.Mbox(m.req.Sender, d.origTo, delivered, time.Now()))
	defer msg.Close()
	out, err := mailbox.DeliverMbox(ctx, m.a.runner, cred, mailbox.MboxParams{
		Path:           path,
		Locking:        cfg.Locking,
		DotlockMayFail: true,
		Create:         true,
		File:           true,
		SizeLimit:      cfg.MailboxSizeLimit,
	}, msg, cfg.StepTimeout)
	if err != nil {
		m.a.log.Warning("%s: file %s: %v", m.req.QueueID, path, err)
		d.fail(s, "4.3.0", "cannot append message to file %s: cannot run the delivery as the user", path)
		return
	}
	d.warnings(out.Warnings)
	if out.Status != nil {
		d.fail(s, out.Status.Enhanced, "cannot append message to file %s: %s", path, out.Status.Text)
		return
	}
	d.sent(s, proto.ActionDelivered, "delivered to file: %s", path)
}

// formatted returns the message as o lays it out, produced as it is read.
// Close it when done, even when it was not read to the end.
func (d *delivery) formatted(o mailbox.CopyOptions) io.ReadCloser {
	pr, pw := io.Pipe()
	content := d.m.file.Content()
	go func() {
		_, err := mailbox.Copy(pw, content, o)
		pw.CloseWithError(err)
	}()
	return pr
}
