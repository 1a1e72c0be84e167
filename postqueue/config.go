package postqueue

import (
	"fmt"
	"path/filepath"

	"github.com/postern-mta/postern/internal/config"
	"github.com/postern-mta/postern/internal/maillog"
	"github.com/postern-mta/postern/internal/proto"
	"github.com/postern-mta/postern/queue"
)

// Config is everything postqueue takes from main.cf.
type Config struct {
	QueueDir string
	Layout   *queue.Layout // queue_directory, hash_queue_names, hash_queue_depth

	ShowqPath  string // public/$showq_service_name
	QmgrPath   string // public/$queue_service_name
	PickupPath string // public/$pickup_service_name

	MailOwner   string // mail_owner: may read the queue directly
	EmptySender string // empty_address_recipient

	MailqUsers []string // authorized_mailq_users
	FlushUsers []string // authorized_flush_users
	// FastFlushDomains (fast_flush_domains) are the sites postqueue -s
	// may flush; FastFlushParent says whether a domain there also
	// matches its subdomains (parent_domain_matches_subdomains).
	FastFlushDomains []string
	FastFlushParent  bool

	// ImportEnv (import_environment) is what survives of the
	// environment of an unprivileged caller.
	ImportEnv []string

	Maillog maillog.Place // where warnings and fatal errors are logged too
}

// ReadConfig reads postqueue's parameters.
func ReadConfig(cfg *config.Config) (Config, error) {
	r := cfg.Reader()
	qdir := r.String("queue_directory")
	c := Config{
		QueueDir:         qdir,
		Layout:           queue.NewLayout(qdir, r.List("hash_queue_names"), r.Int("hash_queue_depth")),
		ShowqPath:        proto.PublicPath(qdir, r.String("showq_service_name")),
		QmgrPath:         proto.PublicPath(qdir, r.String("queue_service_name")),
		PickupPath:       proto.PublicPath(qdir, r.String("pickup_service_name")),
		MailOwner:        r.String("mail_owner"),
		EmptySender:      r.String("empty_address_recipient"),
		MailqUsers:       r.List("authorized_mailq_users"),
		FlushUsers:       r.List("authorized_flush_users"),
		FastFlushDomains: r.List("fast_flush_domains"),
		ImportEnv:        r.List("import_environment"),
		Maillog:          maillog.PlaceOf(r),
	}
	for _, p := range r.List("parent_domain_matches_subdomains") {
		if p == "fast_flush_domains" {
			c.FastFlushParent = true
		}
	}
	if err := r.Err(); err != nil {
		return Config{}, err
	}
	if !filepath.IsAbs(qdir) {
		return Config{}, fmt.Errorf("%s: queue_directory must be an absolute path: %q", cfg.File(), qdir)
	}
	return c, nil
}

// authorizedDir decides whether a set-group-ID postqueue may use the
// configuration directory dir: the default one, or one that the default
// main.cf lists in alternate_config_directories or
// multi_instance_directories. Anything else could make postqueue, with
// its group's rights, use a queue or tables of the caller's choosing.
func authorizedDir(dir string) error {
	dir = filepath.Clean(dir)
	if dir == filepath.Clean(config.DefaultDir) {
		return nil
	}
	def, err := config.Load(config.DefaultDir)
	if err != nil {
		return err
	}
	r := def.Reader()
	allowed := append(r.List("alternate_config_directories"), r.List("multi_instance_directories")...)
	if err := r.Err(); err != nil {
		return err
	}
	for _, a := range allowed {
		if filepath.IsAbs(a) && filepath.Clean(a) == dir {
			return nil
		}
	}
	return fmt.Errorf("unauthorized configuration directory name: %s", dir)
}
