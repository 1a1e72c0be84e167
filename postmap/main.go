package postmap

import (
	"github.com/spf13/cobra"

	"github.com/postern-mta/postern/internal/config"
)

// Config is what postmap takes from main.cf.
type Config struct {
	// DefaultType is default_database_type: the type of a table named
	// without one.
	DefaultType string
	// UTF8 is smtputf8_enable: source lines that are not valid UTF-8 are
	// skipped with a warning (postmap -u turns the check off).
	UTF8 bool
}

// Command returns the postmap command.
func Command() *cobra.Command {
	var o options
	cmd := &cobra.Command{
		Use:   "postmap [-NfinoprsuUvw] [-c config_dir] [-d key] [-q key] [file_type:]file_name ...",
		Short: "create, query or update Postern lookup tables",
		Long:  "postmap creates, queries or updates lookup tables; see the package documentation for the manual.",
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := loadConfig(o.configDir)
			if err != nil {
				return err
			}
			return run(cmd.Context(), streams{cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr(), cmd.Name()}, cfg, o, args)
		},
		SilenceUsage:          true,
		SilenceErrors:         true,
		DisableFlagsInUseLine: true,
	}
	f := cmd.Flags()
	f.StringVarP(&o.configDir, "config", "c", "", "configuration directory (default $MAIL_CONFIG, else /etc/postern)")
	f.StringVarP(&o.query, "query", "q", "", "look up `key` and print the first value found (\"-\": keys from stdin)")
	f.StringVarP(&o.del, "delete", "d", "", "remove `key` from each table (\"-\": keys from stdin)")
	f.BoolVarP(&o.sequence, "sequence", "s", false, "print every entry as key<TAB>value")
	f.BoolVarP(&o.incremental, "incremental", "i", false, "add entries from standard input to the existing tables")
	f.BoolVarP(&o.noFold, "no-fold", "f", false, "do not fold keys to lower case (at build and query time)")
	f.BoolVarP(&o.replace, "replace", "r", false, "on a duplicate key, keep the last value, silently")
	f.BoolVarP(&o.ignore, "ignore-duplicates", "w", false, "on a duplicate key, keep the first value, silently")
	f.BoolVarP(&o.asRoot, "keep-root", "o", false, "as root, do not give the table its source's owner")
	f.BoolVarP(&o.defaultPerm, "default-mode", "p", false, "create tables with mode 0644, not the source's read bits")
	f.BoolVarP(&o.noUTF8, "no-utf8", "u", false, "do not check that source lines are UTF-8")
	f.BoolVarP(&o.forceUTF8, "force-utf8", "U", false, "accepted for compatibility (UTF-8 checks with -b/-h)")
	f.BoolVarP(&o.nul, "nul", "N", false, "accepted for compatibility: keys never hold a trailing NUL")
	f.BoolVarP(&o.noNul, "no-nul", "n", false, "accepted for compatibility: keys never hold a trailing NUL")
	f.CountVarP(&o.verbose, "verbose", "v", "more detail")
	// Postfix's message-query modes and file-valued entries are not
	// implemented; the flags exist so that using them gives a clear error
	// (and so that -h is not taken for --help).
	f.BoolVarP(&o.unsupported.body, "body", "b", false, "not supported")
	f.BoolVarP(&o.unsupported.header, "header", "h", false, "not supported")
	f.Bool("help", false, "help for postmap") // defined here so cobra does not claim -h
	f.BoolVarP(&o.unsupported.mime, "mime", "m", false, "not supported")
	f.BoolVarP(&o.unsupported.files, "file-values", "F", false, "not supported")
	for _, n := range []string{"body", "header", "mime", "file-values"} {
		_ = f.MarkHidden(n)
	}
	return cmd
}

// loadConfig reads main.cf from the config directory.
func loadConfig(dir string) (Config, error) {
	cf, err := config.Load(config.ResolveDir(dir))
	if err != nil {
		return Config{}, err
	}
	r := cf.Reader()
	c := Config{DefaultType: r.String("default_database_type"), UTF8: r.Bool("smtputf8_enable")}
	if err := r.Err(); err != nil {
		return Config{}, err
	}
	if c.DefaultType == "" {
		c.DefaultType = "hash"
	}
	return c, nil
}
