package master

import (
	"time"

	"golang.org/x/sys/unix"
)

// arm starts watching an on-demand service's listeners: when a client
// connects while no child runs, the poller reports it and master starts
// one, which accepts the waiting connection. Master never accepts on a
// service's socket itself.
func (m *Master) arm(r *running) {
	if r.watch != nil || r.removed || m.stopping {
		return
	}
	stop := make(chan struct{})
	r.watch = stop
	fds := make([]unix.PollFd, 0, len(r.lns))
	for _, l := range r.lns {
		fds = append(fds, unix.PollFd{Fd: int32(l.fd), Events: unix.POLLIN})
	}
	gen := r.gen
	go func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			for i := range fds {
				fds[i].Revents = 0
			}
			// A bounded wait, so that a disarmed poller goes away soon.
			n, err := unix.Poll(fds, 500)
			if err == unix.EINTR || n == 0 {
				continue
			}
			if err != nil {
				time.Sleep(100 * time.Millisecond)
				continue
			}
			select {
			case m.events <- demandEvent{r: r, gen: gen}:
			case <-stop:
			}
			return
		}
	}()
}

// disarm stops watching a service's listeners.
func (m *Master) disarm(r *running) {
	if r.watch != nil {
		close(r.watch)
		r.watch = nil
	}
}
