package daemon

import (
	"sync"
	"time"
)

// Idle exit. As with Postfix, a daemon master starts on demand (a service
// without a wakeup timer) exits once it has served nobody for max_idle;
// master starts another when a client next connects. Master sets
// POSTERN_ONDEMAND for such children. Work is counted with Busy and Done:
// ServeConns does it for requests on internal sockets (an idle pooled
// connection does not keep a daemon alive: it is closed at the exit and
// the client redials), other servers (smtpd's sessions) call them
// themselves.

// EnvOnDemand marks a child that may exit when idle.
const EnvOnDemand = "POSTERN_ONDEMAND"

var activity struct {
	mu   sync.Mutex
	busy int
	last time.Time
}

// Busy records that the daemon started serving a request or session.
func Busy() {
	activity.mu.Lock()
	activity.busy++
	activity.mu.Unlock()
}

// Done records that a request or session Busy counted has ended.
func Done() {
	activity.mu.Lock()
	activity.busy--
	activity.last = time.Now()
	activity.mu.Unlock()
}

// idleFor reports how long nothing has been served; 0 while busy.
func idleFor(now time.Time) time.Duration {
	activity.mu.Lock()
	defer activity.mu.Unlock()
	if activity.busy > 0 {
		return 0
	}
	return now.Sub(activity.last)
}

// watchIdle calls stop once the daemon has been idle for maxIdle.
func watchIdle(maxIdle time.Duration, stop func(), done <-chan struct{}) {
	activity.mu.Lock()
	activity.last = time.Now()
	activity.mu.Unlock()
	tick := min(max(maxIdle/4, 10*time.Millisecond), time.Second)
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case now := <-t.C:
			if idleFor(now) >= maxIdle {
				stop()
				return
			}
		case <-done:
			return
		}
	}
}
