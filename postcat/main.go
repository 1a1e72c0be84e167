package postcat

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/postern-mta/postern/internal/config"
	"github.com/postern-mta/postern/queue"
)

const usage = "usage: postcat [-b (body text)] [-c config_dir] [-d (decimal record type)] [-e (envelope records)] [-h (header text)] [-o (offsets)] [-q (access queue)] [file(s)...]"

// errFatal is returned after the fatal message has been printed; the
// caller only needs to exit with status 1.
var errFatal error = reported{}

// reported is an error whose message was already printed.
type reported struct{}

func (reported) Error() string { return "" }

// ExitStatus tells cmd/postern to exit 1 without printing anything more.
func (reported) ExitStatus() int { return 1 }

// Command returns the postcat command (see the package documentation).
// It prints its own "postcat: fatal: …" message on standard error and
// returns a non-nil error when the exit status must be 1.
func Command() *cobra.Command {
	var opt options
	var search bool
	var configDir string
	cmd := &cobra.Command{
		Use:           "postcat [-bdeho] [-q] [-c config_dir] files...",
		Short:         "show queue file contents",
		SilenceErrors: true,
		SilenceUsage:  true,
		RunE: func(cmd *cobra.Command, args []string) error {
			fatal := func(err error) error {
				fmt.Fprintf(cmd.ErrOrStderr(), "postcat: fatal: %v\n", err)
				return errFatal
			}
			if len(args) == 0 {
				return fatal(errors.New(usage))
			}
			out := cmd.OutOrStdout()
			if !search {
				return fatalIf(fatal, catFiles(out, args, opt))
			}
			l, err := layout(configDir)
			if err != nil {
				return fatal(err)
			}
			return fatalIf(fatal, catQueue(out, l, args, opt))
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&opt.Body, "body", "b", false, "show the message body")
	f.BoolVarP(&opt.Envelope, "envelope", "e", false, "show the envelope records")
	f.BoolVarP(&opt.Header, "header", "h", false, "show the message header lines")
	f.BoolVarP(&opt.Offsets, "offsets", "o", false, "show the file offset of each record and line")
	f.BoolVarP(&opt.Decimal, "decimal", "d", false, "show each record's type in decimal")
	f.BoolVarP(&search, "queue", "q", false, "arguments are queue IDs to search the queue for")
	f.StringVarP(&configDir, "config", "c", "", "configuration `directory` (default $MAIL_CONFIG or "+config.DefaultDir+")")
	// -h is the header flag, as in Postfix: help only as --help.
	f.Bool("help", false, "show this help")
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		fmt.Fprintf(c.ErrOrStderr(), "postcat: fatal: %v\npostcat: fatal: %s\n", err, usage)
		return errFatal
	})
	return cmd
}

func fatalIf(fatal func(error) error, err error) error {
	if err != nil {
		return fatal(err)
	}
	return nil
}

// layout reads the queue settings from main.cf.
func layout(configDir string) (*queue.Layout, error) {
	cfg, err := config.Load(config.ResolveDir(configDir))
	if err != nil {
		return nil, err
	}
	r := cfg.Reader()
	dir := r.String("queue_directory")
	names := r.List("hash_queue_names")
	depth := r.Int("hash_queue_depth")
	if err := r.Err(); err != nil {
		return nil, err
	}
	return queue.NewLayout(dir, names, depth), nil
}
