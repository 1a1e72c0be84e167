package master

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/postern-mta/postern/internal/config"
	"github.com/postern-mta/postern/internal/ident"
	"github.com/postern-mta/postern/internal/maillog"
	"github.com/postern-mta/postern/internal/version"
)

// Master supervises the services of one Postern instance.
type Master struct {
	cfg     *Config
	load    func() (*Config, error) // re-reads the configuration on reload
	log     *maillog.Logger
	sink    *sink
	exe     string
	devnull int
	buildID string
	ident   ident.Identity

	running map[string]*running // by "name/type"
	order   []string            // service keys in master.cf order
	events  chan any
	lastMu  sync.Mutex

	stopping bool
	// startup is told when every service is ready (or why not).
	startup func(error)
}

// running is a service with its listeners and its children.
type running struct {
	svc      *service
	lns      []*listener
	gen      int      // bumped on every reload that changes the service
	cur      *child   // the child serving now (nil while waiting to restart)
	draining []*child // children of older generations finishing their work
	// Restart bookkeeping.
	failures  int
	restartAt time.Time
	timer     *time.Timer
	ticker    *time.Ticker
	tickStop  chan struct{}
	removed   bool
	// startFailed marks a delivery agent that died before it was ready
	// while master was starting: the start goes on without it.
	startFailed bool
	// watch, while set, is the poller waiting for a client to start an
	// on-demand service; closing it stops the poller.
	watch chan struct{}
}

// onDemand reports whether master starts the service when a client
// connects (and the daemon exits when idle), as Postfix does for every
// service without a wakeup timer. Services with one (pickup, qmgr) always
// run.
func (r *running) onDemand() bool { return r.svc.Wakeup <= 0 }

// deliveryAgents are the daemons qmgr hands mail to (and spawn, which
// serves policy clients). One of them that cannot start leaves only its
// own mail waiting in the queue, so it does not stop "postfix start", as
// in Postfix: a pipe service with a bad user= must not keep the whole
// mail system down after a reboot. Any other daemon that cannot start
// fails the start, with its reason.
var deliveryAgents = map[string]bool{
	"local": true, "virtual": true, "smtp": true, "lmtp": true, "pipe": true,
	"spawn": true, "discard": true, "error": true,
}

// demandEvent says a client is waiting on an on-demand service's listener.
type demandEvent struct {
	r   *running
	gen int
}

type restartEvent struct {
	r   *running
	gen int
}

type wakeEvent struct{ r *running }

// errStartup reports a service that could not come up at start.
var errStartup = errors.New("service did not start")

// run starts every service and supervises them until a stop signal.
func (m *Master) run() error {
	m.events = make(chan any, 64)
	m.running = make(map[string]*running)
	sigc := make(chan os.Signal, 4)
	signal.Notify(sigc, syscall.SIGHUP, syscall.SIGTERM, syscall.SIGINT, syscall.SIGQUIT)
	signal.Ignore(syscall.SIGPIPE)
	defer signal.Stop(sigc)

	if err := m.apply(m.cfg.services); err != nil {
		m.shutdown(true)
		return err
	}
	m.log.Info("daemon started -- version %s, configuration %s", version.Version, m.cfg.ConfigDir)
	deadline := time.NewTimer(m.cfg.StartTimeout)
	defer deadline.Stop()
	waitingStart := true
	checkStarted := func() {
		if waitingStart && m.allReady() {
			waitingStart = false
			deadline.Stop()
			if m.startup != nil {
				m.startup(nil)
			}
		}
	}
	checkStarted()
	for {
		select {
		case sig := <-sigc:
			switch sig {
			case syscall.SIGHUP:
				m.reload()
				checkStarted()
			case syscall.SIGQUIT:
				m.log.Info("terminating on signal %d", int(sig.(syscall.Signal)))
				m.shutdown(true)
				return nil
			default:
				m.log.Info("terminating on signal %d", int(sig.(syscall.Signal)))
				m.shutdown(false)
				return nil
			}
		case ev := <-m.events:
			if err := m.handle(ev, waitingStart); err != nil {
				m.shutdown(true)
				return err
			}
			checkStarted()
		case <-deadline.C:
			if waitingStart {
				err := fmt.Errorf("%w: %s not ready after %s", errStartup, m.notReady(), m.cfg.StartTimeout)
				m.shutdown(true)
				return err
			}
		}
	}
}

func (m *Master) allReady() bool {
	for _, r := range m.running {
		if (r.cur == nil || !r.cur.ready) && !r.startFailed {
			return false
		}
	}
	return true
}

func (m *Master) notReady() string {
	var names []string
	for _, k := range m.order {
		if r := m.running[k]; r != nil && (r.cur == nil || !r.cur.ready) {
			names = append(names, k)
		}
	}
	return fmt.Sprint(names)
}

// handle processes one event from a child or a timer. During startup a
// child that dies before it is ready fails the whole start, with its last
// log line as the reason.
func (m *Master) handle(ev any, starting bool) error {
	switch ev := ev.(type) {
	case readyEvent:
		c := ev.c
		m.lastMu.Lock()
		c.ready = true
		m.lastMu.Unlock()
		r := c.run
		if c == r.cur {
			r.failures = 0
			r.startFailed = false
			// The new generation serves: the old ones may go.
			for _, old := range r.draining {
				if !old.stopped {
					old.stopped = true
					old.signal(syscall.SIGTERM)
				}
			}
		}
	case exitEvent:
		c := ev.c
		c.status.Close()
		r := c.run
		if i := slices.Index(r.draining, c); i >= 0 {
			r.draining = slices.Delete(r.draining, i, i+1)
			m.closeIfGone(r)
			return nil
		}
		if c != r.cur {
			return nil
		}
		r.cur = nil
		if c.stopped || m.stopping {
			m.closeIfGone(r)
			return nil
		}
		if r.onDemand() && c.ready && ev.state != nil && ev.state.Success() {
			// An idle daemon that went away: the next client brings it back.
			m.arm(r)
			return nil
		}
		how := describeExit(ev.state)
		m.log.Warning("process %s pid %d %s", r.svc.daemon, c.pid, how)
		if !c.ready {
			if starting && !deliveryAgents[r.svc.daemon] {
				why := m.lastLog(c)
				if why == "" {
					why = how
				}
				return fmt.Errorf("%w: %s: %s", errStartup, r.svc, why)
			}
			m.log.Warning("%s: bad command startup -- throttling", r.svc.daemon)
			r.startFailed = starting
			m.scheduleRestart(r, m.cfg.ThrottleTime)
			return nil
		}
		r.failures++
		m.scheduleRestart(r, backoff(r.failures, time.Since(c.started)))
	case restartEvent:
		r := ev.r
		if r.removed || m.stopping || r.cur != nil || ev.gen != r.gen {
			return nil
		}
		if r.onDemand() {
			m.arm(r)
			return nil
		}
		c, err := m.spawn(r)
		if err != nil {
			m.log.Warning("%v", err)
			m.scheduleRestart(r, m.cfg.ThrottleTime)
			return nil
		}
		r.cur = c
	case demandEvent:
		r := ev.r
		m.disarm(r)
		if r.removed || m.stopping || r.cur != nil || ev.gen != r.gen {
			return nil
		}
		c, err := m.spawn(r)
		if err != nil {
			m.log.Warning("%v", err)
			m.scheduleRestart(r, m.cfg.ThrottleTime)
			return nil
		}
		r.cur = c
	case replaceEvent:
		m.replace(ev.c)
	case wakeEvent:
		if ev.r.cur != nil && ev.r.cur.ready {
			go ev.r.cur.wake()
		}
	}
	return nil
}

// replace starts a fresh child beside c, which asked for it (a chrooted
// daemon whose table changed); c stops once the new one is ready, as on
// a reload, so no client waits.
func (m *Master) replace(c *child) {
	r := c.run
	if c != r.cur || !c.ready || c.stopped || r.removed || m.stopping {
		return
	}
	nc, err := m.spawn(r)
	if err != nil {
		m.log.Warning("%v", err)
		return
	}
	r.draining = append(r.draining, c)
	r.cur = nc
}

// backoff is the delay before restarting a child that crashed after
// serving: short at first, doubling with each failure in a row, capped; a
// child that ran a long while starts a fresh series.
func backoff(failures int, ran time.Duration) time.Duration {
	if ran > time.Minute {
		return 0
	}
	d := 50 * time.Millisecond << min(failures-1, 8)
	return min(d, 10*time.Second)
}

func (m *Master) scheduleRestart(r *running, after time.Duration) {
	gen := r.gen
	r.restartAt = time.Now().Add(after)
	if r.timer != nil {
		r.timer.Stop()
	}
	r.timer = time.AfterFunc(after, func() { m.events <- restartEvent{r: r, gen: gen} })
}

// apply makes the running services match services: keeps listeners of
// services that stay (so no client is refused), starts new children with
// the new settings, asks old ones to finish, stops removed services.
func (m *Master) apply(services []*service) error {
	keep := make(map[string]bool)
	var order []string
	var spawn []*running
	for _, svc := range services {
		key := svc.String()
		keep[key] = true
		order = append(order, key)
		r := m.running[key]
		if r == nil {
			r = &running{svc: svc}
			lns, err := m.openListeners(svc)
			if err != nil {
				return err
			}
			r.lns = lns
			m.running[key] = r
		} else {
			if !slices.Equal(r.svc.addrs, svc.addrs) {
				lns, err := m.openListeners(svc)
				if err != nil {
					m.log.Warning("%v; keeping the old addresses of %s", err, key)
					svc.addrs = r.svc.addrs
				} else {
					closeListeners(r.lns)
					r.lns = lns
				}
			}
			r.svc = svc
			r.gen++
			if r.cur != nil {
				r.draining = append(r.draining, r.cur)
				r.cur = nil
			}
			r.failures = 0
		}
		spawn = append(spawn, r)
	}
	// Every socket exists before any child starts: a daemon that talks to
	// another at once (qmgr to the smtp agent, pickup to cleanup) finds it
	// listening, even if that daemon is still starting.
	for _, r := range spawn {
		m.setWakeup(r)
		m.disarm(r)
		c, err := m.spawn(r)
		if err != nil {
			return err
		}
		r.cur = c
	}
	for key, r := range m.running {
		if keep[key] {
			continue
		}
		r.removed = true
		m.setWakeup(r)
		m.disarm(r)
		if r.timer != nil {
			r.timer.Stop()
		}
		for _, c := range append(r.draining, r.cur) {
			if c != nil && !c.stopped {
				c.stopped = true
				c.signal(syscall.SIGTERM)
			}
		}
		if r.cur != nil {
			r.draining = append(r.draining, r.cur)
			r.cur = nil
		}
		delete(m.running, key)
		m.closeIfGone(r)
	}
	m.order = order
	return nil
}

// closeIfGone closes a removed service's listeners once its last child is
// gone.
func (m *Master) closeIfGone(r *running) {
	if !r.removed || r.cur != nil || len(r.draining) > 0 {
		return
	}
	closeListeners(r.lns)
	for _, l := range r.lns {
		if r.svc.Type != "inet" {
			os.Remove(l.addr)
		}
	}
	r.lns = nil
}

func (m *Master) openListeners(svc *service) ([]*listener, error) {
	var lns []*listener
	for _, a := range svc.addrs {
		var l *listener
		var err error
		if svc.Type == "inet" {
			l, err = openInet(a)
		} else {
			mode := os.FileMode(0o600)
			if !svc.Private {
				mode = 0o666
			}
			uid, gid := -1, -1
			if m.ident.Root {
				uid, gid = m.ident.UID, m.ident.GID
			}
			l, err = openUnix(a, uid, gid, mode)
		}
		if err != nil {
			closeListeners(lns)
			return nil, fmt.Errorf("service %s: %w", svc, err)
		}
		lns = append(lns, l)
	}
	return lns, nil
}

func closeListeners(lns []*listener) {
	for _, l := range lns {
		l.close()
	}
}

// setWakeup (re)starts the timer that sends a service its wake-ups.
func (m *Master) setWakeup(r *running) {
	if r.tickStop != nil {
		close(r.tickStop)
		r.ticker.Stop()
		r.tickStop, r.ticker = nil, nil
	}
	if r.removed || r.svc.Wakeup <= 0 {
		return
	}
	r.ticker = time.NewTicker(time.Duration(r.svc.Wakeup) * time.Second)
	r.tickStop = make(chan struct{})
	t, stop := r.ticker, r.tickStop
	go func() {
		for {
			select {
			case <-t.C:
				select {
				case m.events <- wakeEvent{r: r}:
				case <-stop:
					return
				}
			case <-stop:
				return
			}
		}
	}()
}

// reload re-reads main.cf and master.cf and applies them. A configuration
// that does not load leaves everything as it was.
func (m *Master) reload() {
	cfg, err := m.load()
	if err == nil {
		err = prepareJail(cfg)
	}
	if err != nil {
		m.log.Warning("reload failed, configuration unchanged: %v", err)
		return
	}
	for _, w := range cfg.warnings {
		m.log.Warning("%s", w)
	}
	m.cfg = cfg
	if err := m.sink.reopen(); err != nil {
		m.log.Warning("%v", err)
	}
	if err := m.apply(cfg.services); err != nil {
		m.log.Warning("reload: %v", err)
	}
	m.log.Info("reload -- version %s, configuration %s", version.Version, cfg.ConfigDir)
}

// shutdown stops every child: gracefully (SIGTERM, then SIGKILL after
// postern_stop_timeout) or at once (abort), then closes the listeners.
func (m *Master) shutdown(now bool) {
	m.stopping = true
	var all []*child
	for _, r := range m.running {
		r.removed = true
		m.setWakeup(r)
		m.disarm(r)
		if r.timer != nil {
			r.timer.Stop()
		}
		if r.cur != nil {
			all = append(all, r.cur)
		}
		all = append(all, r.draining...)
	}
	sig := syscall.SIGTERM
	if now {
		sig = syscall.SIGKILL
	}
	for _, c := range all {
		c.stopped = true
		c.signal(sig)
	}
	grace := time.NewTimer(m.cfg.StopTimeout)
	defer grace.Stop()
	left := len(all)
	for left > 0 {
		select {
		case ev := <-m.events:
			if _, ok := ev.(exitEvent); ok {
				left--
			}
		case <-grace.C:
			for _, c := range all {
				if !c.exited.Load() {
					c.signal(syscall.SIGKILL)
				}
			}
		}
	}
	for _, r := range m.running {
		closeListeners(r.lns)
		for _, l := range r.lns {
			if r.svc.Type != "inet" {
				os.Remove(l.addr)
			}
		}
	}
}

// pidPath is where master writes its pid and holds its lock.
func pidPath(queueDir string) string { return filepath.Join(queueDir, "pid", "master.pid") }

// lockPid takes the master lock (an exclusive flock on pid/master.pid)
// and writes the pid into the file. A second master on the same queue
// directory fails here.
func lockPid(queueDir string) (*os.File, error) {
	path := pidPath(queueDir)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", filepath.Dir(path), err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("the Postern mail system is already running (lock %s held)", path)
	}
	if err := f.Truncate(0); err != nil {
		f.Close()
		return nil, err
	}
	if _, err := fmt.Fprintf(f, "%10d\n", os.Getpid()); err != nil {
		f.Close()
		return nil, fmt.Errorf("write %s: %w", path, err)
	}
	return f, nil
}

// Loader reads the whole configuration: main.cf, master.cf and what master
// derives from them.
func loader(dir string, foreground bool) func() (*Config, error) {
	return func() (*Config, error) {
		cfg, err := config.Load(dir)
		if err != nil {
			return nil, err
		}
		entries, err := config.LoadMaster(dir)
		if err != nil {
			return nil, err
		}
		return newConfig(cfg, entries, foreground)
	}
}
