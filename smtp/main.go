package smtp

import (
	"context"
	"fmt"
	"net/netip"
	"strings"

	"github.com/postern-mta/postern/internal/config"
	"github.com/postern-mta/postern/internal/daemon"
)

// Serve runs the smtp daemon.
func Serve(ctx context.Context, env *daemon.Env) error { return serve(ctx, env, false) }

// ServeLMTP runs the lmtp daemon: the same agent speaking LMTP.
func ServeLMTP(ctx context.Context, env *daemon.Env) error { return serve(ctx, env, true) }

func serve(ctx context.Context, env *daemon.Env, lmtp bool) error {
	cfg, err := readConfig(env.Config, lmtp)
	if err != nil {
		return err
	}
	a, err := NewAgent(cfg, env.Log)
	if err != nil {
		return err
	}
	defer a.Close()
	// The listeners are master's, already bound: clients queue in the
	// kernel until ServeConns accepts.
	env.Ready()
	return a.Serve(ctx, env.Listeners, env.MaxProc)
}

// readConfig reads every parameter the agent uses. The lmtp daemon reads
// the lmtp_ forms of the smtp_ parameters.
func readConfig(c *config.Config, lmtp bool) (Config, error) {
	r := c.Reader()
	p := "smtp_"
	heloName, heloTimeout, discard := "smtp_helo_name", "smtp_helo_timeout", "smtp_discard_ehlo_keywords"
	if lmtp {
		p = "lmtp_"
		heloName, heloTimeout, discard = "lmtp_lhlo_name", "lmtp_lhlo_timeout", "lmtp_discard_lhlo_keywords"
	}
	cfg := Config{
		LMTP:       lmtp,
		QueueDir:   r.String("queue_directory"),
		HashQueues: r.List("hash_queue_names"),
		HashDepth:  r.Int("hash_queue_depth"),
		MyHostname: strings.ToLower(r.String("myhostname")),
		HeloName:   r.String(heloName),
		Timeouts: Timeouts{
			Connect:  r.Duration(p + "connect_timeout"),
			Helo:     r.Duration(heloTimeout),
			StartTLS: r.Duration(p + "starttls_timeout"),
			Mail:     r.Duration(p + "mail_timeout"),
			Rcpt:     r.Duration(p + "rcpt_timeout"),
			DataInit: r.Duration(p + "data_init_timeout"),
			DataXfer: r.Duration(p + "data_xfer_timeout"),
			DataDone: r.Duration(p + "data_done_timeout"),
			Rset:     r.Duration(p + "rset_timeout"),
			Quit:     r.Duration(p + "quit_timeout"),
		},
		AddressPreference:  strings.ToLower(r.String(p + "address_preference")),
		MXAddressLimit:     r.Int(p + "mx_address_limit"),
		MXSessionLimit:     r.Int(p + "mx_session_limit"),
		RandomizeAddresses: r.Bool(p + "randomize_addresses"),
		DeferIfNoMXAddress: r.Bool(p + "defer_if_no_mx_address_found"),
		FallbackRelay:      r.List(p + "fallback_relay"),
		Skip5xxGreeting:    r.Bool(p + "skip_5xx_greeting"),
		SkipQuitResponse:   r.Bool(p + "skip_quit_response"),
		LineLengthLimit:    r.Int(p + "line_length_limit"),
		DiscardEHLO:        map[string]bool{},
		Cache: CacheConfig{
			OnDemand:   r.Bool(p + "connection_cache_on_demand"),
			IdleLimit:  r.Duration(p + "connection_cache_time_limit"),
			ReuseTime:  r.Duration(p + "connection_reuse_time_limit"),
			ReuseCount: r.Int(p + "connection_reuse_count_limit"),
		},
		IdleTimeout: r.Duration("max_idle"),
		Grace:       r.Duration("postern_stop_timeout"),
		DNS: DNSConfig{
			Servers: r.List(p + "dns_server"),
		},
		LocalAddrs: localAddrs(append(r.List("inet_interfaces"), r.List("proxy_interfaces")...)),
	}
	if !lmtp {
		cfg.AlwaysEHLO = r.Bool("smtp_always_send_ehlo")
		cfg.NeverEHLO = r.Bool("smtp_never_send_ehlo")
	}
	for _, d := range r.List(p + "connection_cache_destinations") {
		cfg.Cache.Destinations = append(cfg.Cache.Destinations, strings.ToLower(d))
	}
	for _, k := range r.List(discard) {
		cfg.DiscardEHLO[strings.ToUpper(k)] = true
	}
	port := r.String(p + "tcp_port")
	protocols := r.List("inet_protocols")
	lookup := r.List(p + "host_lookup")
	bind4, bind6 := r.String(p+"bind_address"), r.String(p+"bind_address6")
	tlsCfg, tlsErr := readTLS(r, p)
	if err := r.Err(); err != nil {
		return cfg, err
	}
	if tlsErr != nil {
		return cfg, tlsErr
	}
	cfg.TLS = tlsCfg
	var err error
	if cfg.DefaultPort, err = parsePort(port); err != nil {
		return cfg, fmt.Errorf("%stcp_port = %s: %w", p, port, err)
	}
	if cfg.IPv4, cfg.IPv6, err = parseProtocols(protocols); err != nil {
		return cfg, err
	}
	for _, l := range lookup {
		switch strings.ToLower(l) {
		case "dns":
			cfg.DNS.UseDNS = true
		case "native":
			cfg.DNS.Native = true
		default:
			return cfg, fmt.Errorf("%shost_lookup: unknown method %q (use dns, native or both)", p, l)
		}
	}
	if !cfg.DNS.UseDNS && !cfg.DNS.Native {
		cfg.DNS.UseDNS = true
	}
	if len(cfg.DNS.Servers) > 0 {
		// MX lookups need DNS whatever smtp_host_lookup says.
		cfg.DNS.UseDNS = true
	}
	if bind4 != "" {
		if cfg.BindAddr4, err = netip.ParseAddr(bind4); err != nil || !cfg.BindAddr4.Is4() {
			return cfg, fmt.Errorf("%sbind_address = %s: not an IPv4 address", p, bind4)
		}
	}
	if bind6 != "" {
		if cfg.BindAddr6, err = netip.ParseAddr(bind6); err != nil || !cfg.BindAddr6.Is6() {
			return cfg, fmt.Errorf("%sbind_address6 = %s: not an IPv6 address", p, bind6)
		}
	}
	switch cfg.AddressPreference {
	case "any", "ipv4", "ipv6":
	default:
		return cfg, fmt.Errorf("%saddress_preference = %s: use any, ipv4 or ipv6", p, cfg.AddressPreference)
	}
	if cfg.HeloName == "" {
		cfg.HeloName = cfg.MyHostname
	}
	return cfg, nil
}

// readTLS reads the TLS policy. An empty security level comes from the
// obsolete smtp_use_tls / smtp_enforce_tls, as in Postfix.
func readTLS(r *config.Reader, p string) (TLSConfig, error) {
	t := TLSConfig{
		CAFile:     r.String(p + "tls_CAfile"),
		CAPath:     r.String(p + "tls_CApath"),
		CertFile:   r.String(p + "tls_cert_file"),
		KeyFile:    r.String(p + "tls_key_file"),
		ServerName: r.String(p + "tls_servername"),
	}
	level := r.String(p + "tls_security_level")
	useTLS, enforce, peername := r.Bool(p+"use_tls"), r.Bool(p+"enforce_tls"), r.Bool(p+"tls_enforce_peername")
	opportunistic, mandatory := r.List(p+"tls_protocols"), r.List(p+"tls_mandatory_protocols")
	verifyMatch, secureMatch := r.List(p+"tls_verify_cert_match"), r.List(p+"tls_secure_cert_match")
	logLevel := r.Int(p + "tls_loglevel")
	if r.Err() != nil {
		return t, nil // reported by the caller
	}
	t.LogLevel = logLevel
	if level == "" {
		switch {
		case enforce && peername:
			level = "verify"
		case enforce:
			level = "encrypt"
		case useTLS:
			level = "may"
		default:
			level = "none"
		}
	}
	var err error
	if t.Level, err = parseTLSLevel(level); err != nil {
		return t, fmt.Errorf("%stls_security_level: %w", p, err)
	}
	protos := opportunistic
	if t.Level >= tlsEncrypt {
		protos = mandatory
	}
	if t.MinVersion, err = parseTLSProtocols(protos); err != nil {
		return t, fmt.Errorf("%stls_protocols: %w", p, err)
	}
	switch t.Level {
	case tlsVerify:
		t.Match = verifyMatch
	case tlsSecure:
		t.Match = secureMatch
	}
	return t, nil
}
