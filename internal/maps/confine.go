package maps

import (
	"math"
	"sync/atomic"
)

// confined holds the function Confine installed; nil while tables may
// read their files.
var confined atomic.Pointer[func(table string)]

// Confine tells every table of the process that its file can no longer
// be reached by its name: the daemon has just locked itself into a chroot
// jail (the chroot column of master.cf), and its tables were opened
// before. From then on a table keeps the version it has loaded and stops
// looking at its file; when the file watcher set up before the chroot
// reports that the file changed, stale is called with the table's
// description ("table hash:/etc/postern/access"), so that the daemon can
// stop and let master start a fresh one that loads the new version, as
// Postfix's daemons do ("table … has changed -- restarting"). stale may be
// called more than once and from any goroutine; it must return quickly.
func Confine(stale func(table string)) {
	confined.Store(&stale)
}

// staleIfConfined reports a changed file of a table in a confined process.
func staleIfConfined(desc string) {
	if f := confined.Load(); f != nil {
		(*f)(desc)
	}
}

// neverCheck is the next check time of a confined table: never.
const neverCheck = math.MaxInt64
