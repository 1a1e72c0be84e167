// Command postdrop is not written yet.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "postdrop: fatal: not implemented yet")
	os.Exit(75)
}
