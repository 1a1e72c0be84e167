package postsuper

import (
	"errors"

	"github.com/spf13/cobra"
)

// Command returns the postsuper command (not written yet).
func Command() *cobra.Command {
	return &cobra.Command{Use: "postsuper", RunE: func(*cobra.Command, []string) error { return errors.New("not implemented yet") }}
}
