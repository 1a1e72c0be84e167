package sendmail

import (
	"fmt"
	"os"
)

// Main runs sendmail with args and returns the exit status (not written yet).
func Main(args []string) int {
	fmt.Fprintln(os.Stderr, "sendmail: fatal: not implemented yet")
	return 75
}
