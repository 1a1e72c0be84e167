package smtp

import (
	"context"
	"fmt"
	"net"
	"slices"
	"sync"
	"time"

	"github.com/postern-mta/postern/internal/agent"
	"github.com/postern-mta/postern/internal/maillog"
	"github.com/postern-mta/postern/queue"
)

// Agent is the SMTP (or LMTP) delivery agent: it serves qmgr's deliver
// protocol and delivers each request to its next hop.
type Agent struct {
	cfg      Config
	log      *maillog.Logger
	layout   *queue.Layout
	dns      *resolver
	tls      *tlsPolicy
	cache    *connCache
	fallback []dest
	quits    sync.WaitGroup // sessions being ended in the background
}

// NewAgent checks cfg and loads what it names (CA files, the client
// certificate, the DNS servers).
func NewAgent(cfg Config, log *maillog.Logger) (*Agent, error) {
	a := &Agent{cfg: cfg, log: log, layout: queue.NewLayout(cfg.QueueDir, cfg.HashQueues, cfg.HashDepth)}
	var err error
	if a.dns, err = newResolver(cfg.DNS); err != nil {
		return nil, err
	}
	if a.tls, err = newTLSPolicy(cfg.TLS); err != nil {
		return nil, err
	}
	for _, fb := range cfg.FallbackRelay {
		d, err := parseNexthop(fb, false, cfg.QueueDir)
		if err != nil {
			return nil, fmt.Errorf("fallback relay: %w", err)
		}
		a.fallback = append(a.fallback, d)
	}
	a.cache = newConnCache(cfg.Cache.IdleLimit, func(s *session) { a.quit(s, true) })
	return a, nil
}

// Serve answers delivery requests on lns (at most maxProc at once) until
// ctx ends; deliveries under way then get cfg.Grace to finish.
func (a *Agent) Serve(ctx context.Context, lns []net.Listener, maxProc int) error {
	return agent.Serve(ctx, lns, agent.Options{MaxProc: maxProc, Grace: a.cfg.Grace, IdleLimit: a.cfg.IdleTimeout, Log: a.log}, a.Deliver)
}

// Close ends every cached session and waits for the ones being ended.
func (a *Agent) Close() {
	a.cache.close()
	a.quits.Wait()
}

// cacheable says whether a session to key may wait for another request.
func (a *Agent) cacheable(key string, s *session) bool {
	c := a.cfg.Cache
	if c.IdleLimit <= 0 || !(c.OnDemand || slices.Contains(c.Destinations, key)) {
		return false
	}
	if c.ReuseCount > 0 && s.uses >= c.ReuseCount {
		return false
	}
	return time.Since(s.born) < c.ReuseTime
}

// quit ends a session: QUIT (when the conversation is in a state to say
// it), then close. Waiting for the QUIT reply, when asked, happens in the
// background so that it never delays a delivery's answer.
func (a *Agent) quit(s *session, polite bool) {
	if !polite {
		s.close()
		return
	}
	s.command("QUIT")
	if err := s.flush(min(a.cfg.Timeouts.Quit, 10*time.Second)); err != nil || a.cfg.SkipQuitResponse {
		s.close()
		return
	}
	a.quits.Add(1)
	go func() {
		defer a.quits.Done()
		s.reply(min(a.cfg.Timeouts.Quit, 30*time.Second)) //nolint:errcheck // the answer changes nothing
		s.close()
	}()
}
