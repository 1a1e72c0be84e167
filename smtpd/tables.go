package smtpd

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/postern-mta/postern/internal/maillog"
	"github.com/postern-mta/postern/internal/maps"
)

// openTableList opens a list of tables (local_recipient_maps and the
// like). A list that cannot be opened (say /etc/aliases.db is missing)
// does not stop the daemon: it is logged, answers every lookup with a
// temporary failure (so mail is deferred, never wrongly accepted or
// refused), and is tried again every few seconds until it opens.
func openTableList(param string, specs []string, opt maps.Options, log *maillog.Logger) maps.Table {
	l, err := maps.OpenList(specs, opt)
	if err == nil {
		return l
	}
	log.Warning("%s: %v", param, err)
	return &retryTable{param: param, specs: specs, opt: opt, log: log, err: err, last: time.Now()}
}

// retryTable stands in for a table list that failed to open.
type retryTable struct {
	param string
	specs []string
	opt   maps.Options
	log   *maillog.Logger

	mu   sync.Mutex
	t    maps.Table
	err  error
	last time.Time
}

const retryOpenEvery = 5 * time.Second

func (r *retryTable) Name() string { return r.param }

func (r *retryTable) Lookup(ctx context.Context, key string) (string, bool, error) {
	r.mu.Lock()
	if r.t == nil && time.Since(r.last) >= retryOpenEvery {
		r.last = time.Now()
		if l, err := maps.OpenList(r.specs, r.opt); err == nil {
			r.t = l
		} else {
			r.err = err
		}
	}
	t, err := r.t, r.err
	r.mu.Unlock()
	if t == nil {
		return "", false, fmt.Errorf("%s: %w", r.param, err)
	}
	return t.Lookup(ctx, key)
}

// IsPattern passes on what the opened list says (see maps.Pattern).
func (r *retryTable) IsPattern() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.t != nil && maps.IsPattern(r.t)
}
