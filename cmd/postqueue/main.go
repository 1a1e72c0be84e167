// Command postqueue is Postern's set-group-ID queue tool for users: it
// lists the queue (postqueue -p, -j; mailq) and asks for deliveries
// (postqueue -f, -s, -i). It is its own small binary, installed
// set-group-ID setgid_group, with no SMTP or daemon code linked in; see
// package postqueue for its manual.
package main

import (
	"os"

	"github.com/postern-mta/postern/postqueue"
)

func main() {
	os.Exit(postqueue.Main(os.Args[1:]))
}
