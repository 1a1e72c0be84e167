package pickup

import (
	"context"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/postern-mta/postern/internal/daemon"
	"github.com/postern-mta/postern/queue"
)

// Config is what pickup reads from main.cf.
type Config struct {
	QueueDir       string
	HashQueueNames []string
	HashQueueDepth int
	MyHostname     string
	MailName       string
	ContentFilter  string        // content_filter of this service, passed to cleanup
	CleanupService string        // cleanup_service_name
	ScanInterval   time.Duration // the periodic scan (master's wakeup column also triggers one)
	IPCTimeout     time.Duration
	StopTimeout    time.Duration
	Workers        int // messages handed to cleanup at once
}

// Serve runs the pickup daemon: it watches maildrop/ and hands each
// complete file to cleanup, until ctx ends.
func Serve(ctx context.Context, env *daemon.Env) error {
	r := env.Config.Reader()
	cfg := &Config{
		QueueDir:       r.String("queue_directory"),
		HashQueueNames: r.List("hash_queue_names"),
		HashQueueDepth: r.Int("hash_queue_depth"),
		MyHostname:     r.String("myhostname"),
		ContentFilter:  r.String("content_filter"),
		MailName:       r.String("mail_name"),
		CleanupService: r.String("cleanup_service_name"),
		IPCTimeout:     r.Duration("ipc_timeout"),
		StopTimeout:    r.Duration("postern_stop_timeout"),
		ScanInterval:   time.Minute,
		Workers:        4,
	}
	if err := r.Err(); err != nil {
		return err
	}
	p := New(cfg, env.Log)
	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// The watch is made before Ready (a chrooted pickup confines itself
	// there): an inotify watch keeps working after the chroot.
	if w, err := fsnotify.NewWatcher(); err != nil {
		env.Log.Warning("watch %s: %v; relying on scans", p.layout.Dir(queue.Maildrop), err)
	} else if err := w.Add(p.layout.Dir(queue.Maildrop)); err != nil {
		env.Log.Warning("watch %s: %v; relying on scans", p.layout.Dir(queue.Maildrop), err)
		w.Close()
	} else {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer w.Close()
			p.watch(ctx, w)
		}()
	}
	env.Ready()
	if len(env.Listeners) > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			daemon.ServeConns(ctx, env.Listeners, 0, time.Second, p.serveControl) //nolint:errcheck // ends with ctx
		}()
	}
	p.Run(ctx, env.Wakeup)
	return nil
}

// watch turns the arrival of a maildrop file into a wake-up.
func (p *Pickup) watch(ctx context.Context, w *fsnotify.Watcher) {
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-w.Events:
			if !ok {
				return
			}
			if ev.Has(fsnotify.Create) && queue.ValidID(baseName(ev.Name)) {
				p.Wake()
			}
		case err, ok := <-w.Errors:
			if !ok {
				return
			}
			p.log.Warning("watch maildrop: %v", err)
			p.Wake() // events may have been lost: scan
		}
	}
}

func baseName(p string) string {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] == '/' {
			return p[i+1:]
		}
	}
	return p
}
