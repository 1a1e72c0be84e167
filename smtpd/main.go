package smtpd

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/postern-mta/postern/internal/config"
	"github.com/postern-mta/postern/internal/daemon"
	"github.com/postern-mta/postern/internal/maillog"
	"github.com/postern-mta/postern/internal/maps"
	"github.com/postern-mta/postern/internal/matchlist"
	"github.com/postern-mta/postern/internal/proto"
	"github.com/postern-mta/postern/internal/resolve"
)

// Serve runs the smtpd daemon: every session of its service, at most
// env.MaxProc at once. With the argument -S it serves one session on
// standard input and output instead ("sendmail -bs").
func Serve(ctx context.Context, env *daemon.Env) error {
	standalone := slices.Contains(env.Args, "-S")
	cfg, err := ReadConfig(env.Config, env.Log, standalone)
	if err != nil {
		return err
	}
	if standalone {
		pd, err := postdropPath(env.Config)
		if err != nil {
			return err
		}
		sub := &postdropSubmitter{path: pd, env: []string{"MAIL_CONFIG=" + env.Config.Dir(), "PATH=/usr/bin:/bin"}}
		NewServer(cfg, env.Log, sub, nil).ServeStandalone(ctx, os.Stdin, os.Stdout)
		return nil
	}
	pool := newCleanupPool(cleanupPaths(cfg.QueueDir, cfg.CleanupService), 32)
	defer pool.Close()
	srv := NewServer(cfg, env.Log, pool, nil)
	env.Ready()
	// Sessions under way when the daemon stops (a reload) may take as long
	// as a client may idle between commands.
	grace := max(cfg.Grace, cfg.Timeout)
	return daemon.ServeConns(ctx, env.Listeners, env.MaxProc, grace, srv.serveConn)
}

// cleanupPaths are where cleanup may listen: public/NAME, as in
// Postfix's master.cf (private column "n"), else private/NAME.
func cleanupPaths(queueDir, name string) []string {
	if name == "" {
		name = proto.ServiceCleanup
	}
	return []string{proto.PublicPath(queueDir, name), proto.PrivatePath(queueDir, name)}
}

// postdropPath finds the postdrop program: beside our own binary, else in
// command_directory.
func postdropPath(cfg *config.Config) (string, error) {
	if exe, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(exe), "postdrop")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	p := filepath.Join(cfg.Get("command_directory"), "postdrop")
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("find postdrop: %w", err)
	}
	return p, nil
}

// ReadConfig reads every parameter smtpd uses from main.cf (with the
// service's -o overrides). Restriction lists are parsed and their tables
// opened here, so a mistake stops the daemon at start with one message.
func ReadConfig(cfg *config.Config, log *maillog.Logger, standalone bool) (*Config, error) {
	r := cfg.Reader()
	c := &Config{
		MyHostname:              r.String("myhostname"),
		MailName:                r.String("mail_name"),
		Banner:                  r.String("smtpd_banner"),
		QueueDir:                r.String("queue_directory"),
		CleanupService:          r.String("cleanup_service_name"),
		MessageSizeLimit:        r.Int64("message_size_limit"),
		LineLengthLimit:         r.Int("line_length_limit"),
		RecipientLimit:          r.Int("smtpd_recipient_limit"),
		RecipientOvershootLimit: r.Int("smtpd_recipient_overshoot_limit"),
		Timeout:                 r.Duration("smtpd_timeout"),
		ErrorSleepTime:          r.Duration("smtpd_error_sleep_time"),
		SoftErrorLimit:          r.Int("smtpd_soft_error_limit"),
		HardErrorLimit:          r.Int("smtpd_hard_error_limit"),
		JunkCommandLimit:        r.Int("smtpd_junk_command_limit"),
		HeloRequired:            r.Bool("smtpd_helo_required"),
		DisableVRFY:             r.Bool("disable_vrfy_command"),
		DiscardEHLOKeywords:     r.List("smtpd_discard_ehlo_keywords"),
		NoopCommands:            r.List("smtpd_noop_commands"),
		PeernameLookup:          r.Bool("smtpd_peername_lookup"),
		ContentFilter:           r.String("content_filter"),
		ClientPortLogging:       r.Bool("smtpd_client_port_logging"),
		SMTPUTF8:                r.Bool("smtputf8_enable"),
		SoftBounce:              r.Bool("soft_bounce"),
		RejectFooter:            r.String("smtpd_reject_footer"),
		Grace:                   r.Duration("postern_stop_timeout"),
		TLSReceivedHeader:       r.Bool("smtpd_tls_received_header"),
		TLSAskCert:              r.Bool("smtpd_tls_ask_ccert"),
		TLSWrapper:              r.Bool("smtpd_tls_wrappermode"),
		StartTLSTimeout:         r.Duration("smtpd_starttls_timeout"),
		Standalone:              standalone,
	}
	c.TLSLogLevel, _ = strconv.Atoi(r.String("smtpd_tls_loglevel"))
	forbidden := r.List("smtpd_forbidden_commands")
	fastFlush := r.List("fast_flush_domains")
	parents := r.List("parent_domain_matches_subdomains")
	mailOwner := r.String("mail_owner")
	if err := r.Err(); err != nil {
		return nil, err
	}
	open := func(spec string) (maps.Table, error) { return maps.Open(spec, tableOptions(log)) }
	var err error
	if c.Forbidden, err = parseCommandList(forbidden, open); err != nil {
		return nil, fmt.Errorf("smtpd_forbidden_commands: %w", err)
	}
	if c.FastFlushDomains, err = matchlist.NewDomains(fastFlush, slices.Contains(parents, "fast_flush_domains"), tableOptions(log)); err != nil {
		return nil, fmt.Errorf("fast_flush_domains: %w", err)
	}
	if !standalone {
		if err := readTLS(cfg, c, log); err != nil {
			return nil, err
		}
	}
	c.Restrictions = !standalone
	if standalone {
		if u, err := user.Lookup(mailOwner); err == nil && u.Uid == strconv.Itoa(os.Getuid()) {
			c.Restrictions = true
		}
	}
	if c.Restrictions {
		if c.Checks, err = readChecks(cfg, log); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// tableOptions opens tables with warnings in the mail log.
func tableOptions(log *maillog.Logger) maps.Options {
	o := maps.DefaultOptions()
	o.Warn = func(msg string) { log.Warning("%s", msg) }
	return o
}

// readTLS sets up STARTTLS from the smtpd_tls_* parameters.
func readTLS(cfg *config.Config, c *Config, log *maillog.Logger) error {
	r := cfg.Reader()
	level := strings.ToLower(r.String("smtpd_tls_security_level"))
	if level == "" {
		switch {
		case r.Bool("smtpd_enforce_tls"):
			level = "encrypt"
		case r.Bool("smtpd_use_tls"):
			level = "may"
		default:
			level = "none"
		}
	}
	certFile, keyFile := r.String("smtpd_tls_cert_file"), r.String("smtpd_tls_key_file")
	caFile := r.String("smtpd_tls_CAfile")
	protocols := r.List("smtpd_tls_protocols")
	mandatory := r.List("smtpd_tls_mandatory_protocols")
	if err := r.Err(); err != nil {
		return err
	}
	switch level {
	case "none":
		if !c.TLSWrapper {
			return nil
		}
	case "may":
	case "encrypt", "verify", "secure", "fingerprint", "dane", "dane-only":
		if level != "encrypt" {
			log.Warning("smtpd_tls_security_level: unsupported TLS level %q, using \"encrypt\"", level)
		}
		c.TLSEnforce = true
	default:
		return fmt.Errorf("invalid TLS level %q", level)
	}
	if c.TLSWrapper {
		c.TLSEnforce = true
	}
	if certFile == "" {
		log.Warning("No server certs available. TLS won't be enabled")
		return nil
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		log.Warning("cannot load certificate and key from %s and %s: %v. TLS won't be enabled", certFile, keyFile, err)
		return nil
	}
	list := protocols
	if c.TLSEnforce {
		list = mandatory
	}
	minVersion, err := tlsMinVersion(list)
	if err != nil {
		return fmt.Errorf("smtpd_tls_protocols: %w", err)
	}
	tc := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: minVersion}
	if c.TLSAskCert {
		tc.ClientAuth = tls.RequestClientCert
		if caFile != "" {
			pem, err := os.ReadFile(caFile)
			if err != nil {
				return fmt.Errorf("smtpd_tls_CAfile: %w", err)
			}
			pool := x509.NewCertPool()
			pool.AppendCertsFromPEM(pem)
			tc.ClientCAs = pool
			tc.ClientAuth = tls.VerifyClientCertIfGiven
		}
	}
	c.TLS = tc
	return nil
}

// readChecks builds the restriction engine.
func readChecks(cfg *config.Config, log *maillog.Logger) (*Checker, error) {
	r := cfg.Reader()
	cc := CheckConfig{
		Lists:                    map[string][]string{},
		Classes:                  map[string][]string{},
		DelayReject:              r.Bool("smtpd_delay_reject"),
		RelayBeforeRecipient:     r.Bool("smtpd_relay_before_recipient_restrictions"),
		RejectUnlistedRecipient:  r.Bool("smtpd_reject_unlisted_recipient"),
		RejectUnlistedSender:     r.Bool("smtpd_reject_unlisted_sender"),
		ShowUnknownTable:         r.Bool("show_user_unknown_table_name"),
		SoftBounce:               r.Bool("soft_bounce"),
		NullAccessKey:            r.String("smtpd_null_access_lookup_key"),
		RecipientDelimiter:       r.String("recipient_delimiter"),
		DoubleBounceSender:       r.String("double_bounce_sender"),
		LogPermitActions:         r.List("smtpd_log_access_permit_actions"),
		AccessMapRejectCode:      r.Int("access_map_reject_code"),
		AccessMapDeferCode:       r.Int("access_map_defer_code"),
		RejectCode:               r.Int("reject_code"),
		DeferCode:                r.Int("defer_code"),
		RelayDomainsRejectCode:   r.Int("relay_domains_reject_code"),
		InvalidHostnameCode:      r.Int("invalid_hostname_reject_code"),
		NonFQDNCode:              r.Int("non_fqdn_reject_code"),
		UnknownAddressCode:       r.Int("unknown_address_reject_code"),
		UnknownClientCode:        r.Int("unknown_client_reject_code"),
		UnknownHostnameCode:      r.Int("unknown_hostname_reject_code"),
		UnknownLocalRcptCode:     r.Int("unknown_local_recipient_reject_code"),
		UnknownRelayRcptCode:     r.Int("unknown_relay_recipient_reject_code"),
		UnknownVirtualAliasCode:  r.Int("unknown_virtual_alias_reject_code"),
		UnknownVirtualMboxCode:   r.Int("unknown_virtual_mailbox_reject_code"),
		MultiRecipientBounceCode: r.Int("multi_recipient_bounce_reject_code"),
		PlaintextCode:            r.Int("plaintext_reject_code"),
		UnknownAddrTempfail:      r.String("unknown_address_tempfail_action"),
		UnknownHeloTempfail:      r.String("unknown_helo_hostname_tempfail_action"),
		Warn:                     log.Warning,
	}
	for _, info := range stageInfo {
		cc.Lists[info.param] = r.List(info.param)
	}
	for _, name := range r.List("smtpd_restriction_classes") {
		v, ok := cfg.Lookup(name)
		if !ok || strings.TrimSpace(v) == "" {
			return nil, fmt.Errorf("restriction class `%s' needs a definition", name)
		}
		cc.Classes[name] = config.SplitList(v)
	}
	parents := r.List("parent_domain_matches_subdomains")
	cc.AccessParentMatches = slices.Contains(parents, "smtpd_access_maps")
	nets := r.List("mynetworks")
	if !cfg.IsSet("mynetworks") && len(nets) == 0 {
		nets = matchlist.NetworksFromStyle(r.String("mynetworks_style"))
	}
	tableLists := map[string][]string{}
	for _, p := range []string{"local_recipient_maps", "virtual_alias_maps", "virtual_mailbox_maps", "relay_recipient_maps",
		"canonical_maps", "recipient_canonical_maps", "sender_canonical_maps"} {
		tableLists[p] = r.List(p)
	}
	if err := r.Err(); err != nil {
		return nil, err
	}
	opt := tableOptions(log)
	var err error
	if cc.MyNetworks, err = matchlist.NewNetworks(nets, opt); err != nil {
		return nil, fmt.Errorf("mynetworks: %w", err)
	}
	rc, err := resolve.ReadConfigOptions(cfg, opt)
	if err != nil {
		return nil, err
	}
	cc.InetAddrs = rc.LocalAddrs
	cc.Resolver = resolve.New(rc)
	cc.DNS = net.DefaultResolver
	cc.OpenTable = func(spec string) (maps.Table, error) { return maps.Open(spec, opt) }
	tables := map[string]*maps.Table{
		"local_recipient_maps":     &cc.LocalRcptMaps,
		"virtual_alias_maps":       &cc.VirtAliasMaps,
		"virtual_mailbox_maps":     &cc.VirtMboxMaps,
		"relay_recipient_maps":     &cc.RelayRcptMaps,
		"canonical_maps":           &cc.CanonicalMaps,
		"recipient_canonical_maps": &cc.RcptCanonMaps,
		"sender_canonical_maps":    &cc.SenderCanonMap,
	}
	for p, dst := range tables {
		if specs := tableLists[p]; len(specs) > 0 {
			*dst = openTableList(p, specs, opt, log)
		}
	}
	return NewChecker(cc)
}
