package cleanup

import (
	"context"
	"fmt"
	"strings"

	"github.com/postern-mta/postern/internal/config"
	"github.com/postern-mta/postern/internal/daemon"
	"github.com/postern-mta/postern/internal/maillog"
	"github.com/postern-mta/postern/internal/maps"
	"github.com/postern-mta/postern/internal/matchlist"
	"github.com/postern-mta/postern/internal/resolve"
)

// Serve runs the cleanup daemon: it reads its parameters, opens its
// tables once (they reload themselves), and serves the cleanup protocol
// on the listeners master gave it until ctx ends.
func Serve(ctx context.Context, env *daemon.Env) error {
	cfg, err := readConfig(env.Config, env.Log)
	if err != nil {
		return err
	}
	c := New(cfg, env.Log)
	go c.nudger.run(ctx)
	env.Ready()
	return daemon.ServeConns(ctx, env.Listeners, env.MaxProc, cfg.StopTimeout, c.ServeConn)
}

// readConfig reads main.cf into a Config and opens the tables.
func readConfig(cfg *config.Config, log *maillog.Logger) (*Config, error) {
	r := cfg.Reader()
	c := &Config{
		QueueDir:                    r.String("queue_directory"),
		HashQueueNames:              r.List("hash_queue_names"),
		HashQueueDepth:              r.Int("hash_queue_depth"),
		MyHostname:                  r.String("myhostname"),
		MyOrigin:                    r.String("myorigin"),
		HeaderSizeLimit:             r.Int("header_size_limit"),
		HopcountLimit:               r.Int("hopcount_limit"),
		LineLengthLimit:             r.Int("line_length_limit"),
		MessageSizeLimit:            r.Size("message_size_limit"),
		BodyChecksSizeLimit:         r.Size("body_checks_size_limit"),
		HeaderAddressTokenLimit:     r.Int("header_address_token_limit"),
		MIMENestingLimit:            r.Int("mime_nesting_limit"),
		DisableMIME:                 r.Bool("disable_mime_input_processing"),
		MasqueradeDomains:           r.List("masquerade_domains"),
		MasqueradeExceptions:        map[string]bool{},
		ExpansionLimit:              r.Int("virtual_alias_expansion_limit"),
		RecursionLimit:              r.Int("virtual_alias_recursion_limit"),
		RecipientDelimiter:          r.String("recipient_delimiter"),
		AlwaysBcc:                   r.String("always_bcc"),
		EnableOriginalRecipient:     r.Bool("enable_original_recipient"),
		DupFilterLimit:              r.Int("duplicate_filter_limit"),
		ContentFilter:               r.String("content_filter"),
		DelayWarning:                r.Duration("delay_warning_time"),
		UndisclosedRecipientsHeader: r.String("undisclosed_recipients_header"),
		AlwaysAddMissingHeaders:     r.Bool("always_add_missing_headers"),
		RemoteHeaderRewriteDomain:   r.String("remote_header_rewrite_domain"),
		QmgrService:                 r.String("queue_service_name"),
		BounceService:               r.String("bounce_service_name"),
		IPCTimeout:                  r.Duration("ipc_timeout"),
		StopTimeout:                 r.Duration("postern_stop_timeout"),
	}
	for _, e := range r.List("masquerade_exceptions") {
		c.MasqueradeExceptions[strings.ToLower(e)] = true
	}
	for _, p := range r.List("propagate_unmatched_extensions") {
		switch strings.ToLower(p) {
		case "canonical":
			c.PropagateCanonical = true
		case "virtual":
			c.PropagateVirtual = true
		}
	}
	classLists := []struct {
		param string
		dst   *classes
	}{
		{"canonical_classes", &c.CanonicalClasses},
		{"sender_canonical_classes", &c.SenderCanonicalClasses},
		{"recipient_canonical_classes", &c.RecipientCanonicalClasses},
		{"masquerade_classes", &c.MasqueradeClasses},
	}
	classItems := make([][]string, len(classLists))
	for i, cl := range classLists {
		classItems[i] = r.List(cl.param)
	}
	tables := []struct {
		param string
		dst   *maps.Table
	}{
		{"header_checks", &c.HeaderChecks},
		{"mime_header_checks", &c.MIMEHeaderChecks},
		{"nested_header_checks", &c.NestedHeaderChecks},
		{"body_checks", &c.BodyChecks},
		{"canonical_maps", &c.Canonical},
		{"sender_canonical_maps", &c.SenderCanonical},
		{"recipient_canonical_maps", &c.RecipientCanonical},
		{"virtual_alias_maps", &c.VirtualAlias},
		{"sender_bcc_maps", &c.SenderBcc},
		{"recipient_bcc_maps", &c.RecipientBcc},
	}
	tableSpecs := make([][]string, len(tables))
	for i, t := range tables {
		tableSpecs[i] = r.List(t.param)
	}
	rewriteClients := r.List("local_header_rewrite_clients")
	mynetworks := r.List("mynetworks")
	if err := r.Err(); err != nil {
		return nil, err
	}
	var err error
	for i, cl := range classLists {
		if *cl.dst, err = parseClasses(cl.param, classItems[i]); err != nil {
			return nil, err
		}
	}
	opt := maps.DefaultOptions()
	opt.Warn = func(msg string) { log.Warning("%s", msg) }
	for i, t := range tables {
		if len(tableSpecs[i]) == 0 {
			continue
		}
		l, err := maps.OpenList(tableSpecs[i], opt)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", t.param, err)
		}
		*t.dst = l
	}
	rc, err := resolve.ReadConfigOptions(cfg, opt)
	if err != nil {
		return nil, err
	}
	res := resolve.New(rc)
	c.IsLocalDomain = res.IsLocalDomain
	nets, err := matchlist.NewNetworks(mynetworks, opt)
	if err != nil {
		return nil, fmt.Errorf("mynetworks: %w", err)
	}
	if c.LocalHeaderRewrite, err = headerClients(rewriteClients, rc.LocalAddrs, nets, opt); err != nil {
		return nil, err
	}
	if c.MyOrigin == "" {
		c.MyOrigin = c.MyHostname
	}
	return c, nil
}
