// Command postdrop is Postern's set-group-ID mail posting agent: sendmail
// runs it to put a message into the maildrop queue. See package postdrop.
package main

import (
	"os"

	"github.com/postern-mta/postern/postdrop"
)

func main() {
	os.Exit(postdrop.Main(os.Args[1:]))
}
