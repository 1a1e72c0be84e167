// Command postern is the one binary of the Postern mail system: master,
// every daemon and the administrator's commands. It takes its personality
// from the name it is started under (sendmail, mailq, newaliases, postfix,
// postconf, postmap, postalias, postcat, postsuper) or from its first
// argument ("postern postmap -q key table").
//
// Daemons are hidden personalities that only master starts ("postern
// daemon smtpd …"); see package master and internal/daemon.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/spf13/cobra"

	"github.com/postern-mta/postern/bounce"
	"github.com/postern-mta/postern/cleanup"
	"github.com/postern-mta/postern/discard"
	"github.com/postern-mta/postern/internal/daemon"
	"github.com/postern-mta/postern/internal/privexec"
	"github.com/postern-mta/postern/local"
	"github.com/postern-mta/postern/master"
	"github.com/postern-mta/postern/pickup"
	"github.com/postern-mta/postern/pipe"
	"github.com/postern-mta/postern/postalias"
	"github.com/postern-mta/postern/postcat"
	"github.com/postern-mta/postern/postconf"
	"github.com/postern-mta/postern/postfix"
	"github.com/postern-mta/postern/postmap"
	"github.com/postern-mta/postern/postsuper"
	"github.com/postern-mta/postern/qmgr"
	"github.com/postern-mta/postern/qmqpd"
	"github.com/postern-mta/postern/sendmail"
	"github.com/postern-mta/postern/showq"
	"github.com/postern-mta/postern/smtp"
	"github.com/postern-mta/postern/smtpd"
	"github.com/postern-mta/postern/spawn"
	"github.com/postern-mta/postern/virtual"
)

// tools are the commands users call, by name.
var tools = map[string]func() *cobra.Command{
	"postfix":    postfix.Command,
	"postcat":    postcat.Command,
	"postconf":   postconf.Command,
	"postmap":    postmap.Command,
	"postalias":  postalias.Command,
	"newaliases": postalias.NewaliasesCommand,
	"postsuper":  postsuper.Command,
}

// mains are personalities with their own argument handling, by name.
var mains = map[string]func(args []string) int{
	"master":   master.Main,
	"dev":      postfix.DevMain,
	"sendmail": sendmail.Main,
	"mailq":    func(args []string) int { return sendmail.Main(append([]string{"-bp"}, args...)) },
	"privexec": privexec.Main,
}

// daemons are what master starts, by daemon command name.
var daemons = map[string]daemon.ServeFunc{
	"smtpd":   smtpd.Serve,
	"qmqpd":   qmqpd.Serve,
	"pickup":  pickup.Serve,
	"cleanup": cleanup.Serve,
	"qmgr":    qmgr.Serve,
	"bounce":  bounce.Serve,
	"showq":   showq.Serve,
	"smtp":    smtp.Serve,
	"lmtp":    smtp.ServeLMTP,
	"local":   local.Serve,
	"virtual": virtual.Serve,
	"pipe":    pipe.Serve,
	"spawn":   spawn.Serve,
	"error":   discard.ServeError,
	"discard": discard.Serve,
}

func main() {
	name := filepath.Base(os.Args[0])
	args := os.Args[1:]
	if !known(name) {
		if len(args) == 0 {
			usage()
			os.Exit(1)
		}
		name, args = args[0], args[1:]
	}
	if name == "daemon" {
		if len(args) == 0 {
			fmt.Fprintln(os.Stderr, "postern: daemon: which one?")
			os.Exit(1)
		}
		serve, ok := daemons[args[0]]
		if !ok {
			fmt.Fprintf(os.Stderr, "postern: daemon %s: not implemented\n", args[0])
			os.Exit(1)
		}
		daemon.Run(args[0], args[1:], serve)
	}
	if m, ok := mains[name]; ok {
		os.Exit(m(args))
	}
	mk, ok := tools[name]
	if !ok {
		fmt.Fprintf(os.Stderr, "postern: unknown command %q\n", name)
		usage()
		os.Exit(1)
	}
	os.Exit(runTool(name, mk(), args))
}

func known(name string) bool {
	_, t := tools[name]
	_, m := mains[name]
	return t || m || name == "daemon"
}

// runTool runs a cobra command the way Postfix's commands report errors:
// "name: fatal: reason" and exit status 1, unless the command chose its
// own status.
func runTool(name string, cmd *cobra.Command, args []string) int {
	cmd.SetArgs(args)
	cmd.SilenceUsage = true
	cmd.SilenceErrors = true
	if err := cmd.Execute(); err != nil {
		if st, ok := err.(interface{ ExitStatus() int }); ok {
			if msg := err.Error(); msg != "" {
				fmt.Fprintf(os.Stderr, "%s: fatal: %s\n", name, msg)
			}
			return st.ExitStatus()
		}
		fmt.Fprintf(os.Stderr, "%s: fatal: %v\n", name, err)
		return 1
	}
	return 0
}

func usage() {
	var names []string
	for n := range tools {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintf(os.Stderr, "usage: postern COMMAND [args]\ncommands: %v\n", names)
}
