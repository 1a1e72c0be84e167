// Command postqueue is not written yet.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "postqueue: fatal: not implemented yet")
	os.Exit(75)
}
