package postfix

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"syscall"

	"github.com/postern-mta/postern/internal/config"
)

// DevMain is "postern dev [DIR]": run Postern in the foreground on a
// built-in development configuration kept under DIR (default ./var):
// SMTP on 127.0.0.1:2525 and [::1]:2525, the queue in DIR/spool, and mail
// for any address at localhost delivered into the Maildir DIR/mail/inbox/.
// The configuration is written to DIR/etc on first use and left alone
// after that, so it can be edited; remove DIR/etc to get the default back.
func DevMain(args []string) int {
	base := "var"
	if len(args) > 0 {
		base = args[0]
	}
	base, err := filepath.Abs(base)
	if err != nil {
		fmt.Fprintf(os.Stderr, "postern dev: fatal: %v\n", err)
		return 1
	}
	etc := filepath.Join(base, "etc")
	if err := writeDevConfig(base, etc); err != nil {
		fmt.Fprintf(os.Stderr, "postern dev: fatal: %v\n", err)
		return 1
	}
	fmt.Fprintf(os.Stderr, "postern dev: configuration in %s; SMTP on 127.0.0.1:2525; mail for @localhost goes to %s\n",
		etc, filepath.Join(base, "mail", "inbox"))
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintf(os.Stderr, "postern dev: fatal: find own binary: %v\n", err)
		return 1
	}
	os.Setenv("MAIL_CONFIG", etc)
	err = syscall.Exec(exe, []string{"postern", "postfix", "-c", etc, "start-fg"}, os.Environ())
	fmt.Fprintf(os.Stderr, "postern dev: fatal: %v\n", err)
	return 1
}

// writeDevConfig writes the development main.cf and master.cf unless they
// exist.
func writeDevConfig(base, etc string) error {
	if err := os.MkdirAll(etc, 0o755); err != nil {
		return err
	}
	uid := os.Getuid()
	if uid == 0 {
		uid = 65534 // a Maildir owned by root is refused; nobody is safe
	}
	mainCF := fmt.Sprintf(`# Postern development configuration (written by "postern dev").
queue_directory = %[1]s/spool
data_directory = %[1]s/spool/data
mail_spool_directory = %[1]s/mail/spool
inet_interfaces = loopback-only
myhostname = localhost.localdomain
mydestination =
# No local users here, so no alias database to build first.
alias_maps =
alias_database =
# Everything addressed to @localhost lands in one Maildir.
virtual_mailbox_domains = localhost
virtual_mailbox_base = %[1]s/mail
virtual_mailbox_maps = inline:{@localhost=inbox/}
virtual_uid_maps = static:%[2]d
virtual_gid_maps = static:%[2]d
virtual_minimum_uid = 1
# Nothing leaves this machine.
default_transport = error:5.7.1 development instance does not send mail out
queue_run_delay = 10s
minimal_backoff_time = 10s
maximal_backoff_time = 60s
`, base, uid)
	if err := writeIfMissing(filepath.Join(etc, "main.cf"), mainCF); err != nil {
		return err
	}
	// The mailbox tree belongs to the account mail is delivered as.
	mail := filepath.Join(base, "mail")
	if err := os.MkdirAll(mail, 0o755); err != nil {
		return err
	}
	if os.Getuid() == 0 {
		if err := os.Chown(mail, uid, uid); err != nil {
			return err
		}
	}
	smtp := regexp.MustCompile(`(?m)^smtp(\s+)inet`)
	masterCF := smtp.ReplaceAllString(config.DefaultMasterCF, "2525${1}inet")
	return writeIfMissing(filepath.Join(etc, "master.cf"), masterCF)
}

func writeIfMissing(path, text string) error {
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	return os.WriteFile(path, []byte(text), 0o644)
}
