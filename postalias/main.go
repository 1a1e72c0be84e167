package postalias

import (
	"github.com/spf13/cobra"

	"github.com/postern-mta/postern/internal/config"
)

// Config is what postalias and newaliases take from main.cf.
type Config struct {
	// DefaultType is default_database_type: the type of a table named
	// without one.
	DefaultType string
	// AliasDatabase is alias_database: the tables newaliases builds, and
	// postalias when no table is named.
	AliasDatabase []string
}

// Command returns the postalias command.
func Command() *cobra.Command {
	var o options
	cmd := &cobra.Command{
		Use:   "postalias [-Nfinoprsvw] [-c config_dir] [-d key] [-q key] [file_type:]file_name ...",
		Short: "create, query or update Postern alias tables",
		Long:  "postalias creates, queries or updates alias tables; see the package documentation for the manual.",
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := loadConfig(o.configDir)
			if err != nil {
				return err
			}
			return run(cmd.Context(), newStreams(cmd), cfg, o, args)
		},
		SilenceUsage:          true,
		SilenceErrors:         true,
		DisableFlagsInUseLine: true,
	}
	f := cmd.Flags()
	f.StringVarP(&o.configDir, "config", "c", "", "configuration directory (default $MAIL_CONFIG, else /etc/postern)")
	f.StringVarP(&o.query, "query", "q", "", "look up `key` and print the first value found (\"-\": keys from stdin)")
	f.StringVarP(&o.del, "delete", "d", "", "remove `key` from each table (\"-\": keys from stdin)")
	f.BoolVarP(&o.sequence, "sequence", "s", false, "print every entry as key:<TAB>value")
	f.BoolVarP(&o.incremental, "incremental", "i", false, "add entries from standard input to the existing tables")
	f.BoolVarP(&o.noFold, "no-fold", "f", false, "do not fold names to lower case (at build and query time)")
	f.BoolVarP(&o.replace, "replace", "r", false, "on a duplicate name, keep the last value, silently")
	f.BoolVarP(&o.ignore, "ignore-duplicates", "w", false, "on a duplicate name, keep the first value, silently")
	f.BoolVarP(&o.asRoot, "keep-root", "o", false, "as root, do not give the table its source's owner")
	f.BoolVarP(&o.defaultPerm, "default-mode", "p", false, "create tables with mode 0644, not the source's read bits")
	f.BoolVarP(&o.nul, "nul", "N", false, "accepted for compatibility: keys never hold a trailing NUL")
	f.BoolVarP(&o.noNul, "no-nul", "n", false, "accepted for compatibility: keys never hold a trailing NUL")
	f.CountVarP(&o.verbose, "verbose", "v", "more detail")
	return cmd
}

// NewaliasesCommand returns newaliases: postalias on every table of
// alias_database.
func NewaliasesCommand() *cobra.Command {
	var o options
	cmd := &cobra.Command{
		Use:   "newaliases [-v] [-c config_dir]",
		Short: "rebuild the alias tables named by alias_database",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(o.configDir)
			if err != nil {
				return err
			}
			return run(cmd.Context(), newStreams(cmd), cfg, o, nil)
		},
		SilenceUsage:          true,
		SilenceErrors:         true,
		DisableFlagsInUseLine: true,
	}
	f := cmd.Flags()
	f.StringVarP(&o.configDir, "config", "c", "", "configuration directory (default $MAIL_CONFIG, else /etc/postern)")
	f.CountVarP(&o.verbose, "verbose", "v", "more detail")
	return cmd
}

func newStreams(cmd *cobra.Command) streams {
	return streams{cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr(), cmd.Name()}
}

// loadConfig reads main.cf from the config directory.
func loadConfig(dir string) (Config, error) {
	cf, err := config.Load(config.ResolveDir(dir))
	if err != nil {
		return Config{}, err
	}
	r := cf.Reader()
	c := Config{DefaultType: r.String("default_database_type"), AliasDatabase: r.List("alias_database")}
	if err := r.Err(); err != nil {
		return Config{}, err
	}
	if c.DefaultType == "" {
		c.DefaultType = "hash"
	}
	return c, nil
}
