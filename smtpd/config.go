package smtpd

import (
	"crypto/tls"
	"time"

	"github.com/postern-mta/postern/internal/matchlist"
)

// Config is everything the SMTP server needs, read once by Serve from
// main.cf (see main.go). Nothing deeper looks parameters up.
type Config struct {
	MyHostname string // myhostname: EHLO reply, Received:, 421 texts
	MailName   string // mail_name: Received: "by host (Postern)"
	Banner     string // smtpd_banner, expanded: what follows "220 "
	QueueDir   string // queue_directory: public/cleanup, public/qmgr
	// CleanupService is cleanup_service_name: the socket name of cleanup.
	CleanupService string

	MessageSizeLimit        int64 // message_size_limit; 0: none
	LineLengthLimit         int   // line_length_limit: longest command line kept
	RecipientLimit          int   // smtpd_recipient_limit
	RecipientOvershootLimit int   // smtpd_recipient_overshoot_limit
	Timeout                 time.Duration
	ErrorSleepTime          time.Duration
	SoftErrorLimit          int
	HardErrorLimit          int
	JunkCommandLimit        int
	HeloRequired            bool
	DisableVRFY             bool
	DiscardEHLOKeywords     []string // lower-cased
	NoopCommands            []string // upper-cased
	Forbidden               commandList
	PeernameLookup          bool
	ClientPortLogging       bool
	SMTPUTF8                bool // smtputf8_enable
	SoftBounce              bool
	RejectFooter            string
	Grace                   time.Duration // postern_stop_timeout

	// TLS is nil when STARTTLS is not offered.
	TLS               *tls.Config
	TLSEnforce        bool // smtpd_tls_security_level = encrypt
	TLSWrapper        bool // smtpd_tls_wrappermode
	TLSReceivedHeader bool
	TLSAskCert        bool
	TLSLogLevel       int
	StartTLSTimeout   time.Duration

	FastFlushDomains *matchlist.Domains // ETRN sites

	// Standalone is "sendmail -bs": one session on standard input and
	// output, submitted through postdrop.
	Standalone bool
	// ContentFilter is this service's content_filter, passed to cleanup
	// (empty: none, which also turns cleanup's own off).
	ContentFilter string
	// Restrictions applies access restrictions; off in stand-alone mode
	// unless the caller is the mail owner.
	Restrictions bool

	Checks *Checker
}

// defaults fills unset limits so that a zero Config works in tests.
func (c *Config) defaults() {
	if c.MyHostname == "" {
		c.MyHostname = "localhost"
	}
	if c.MailName == "" {
		c.MailName = "Postern"
	}
	if c.Banner == "" {
		c.Banner = c.MyHostname + " ESMTP " + c.MailName
	}
	if c.LineLengthLimit <= 0 {
		c.LineLengthLimit = 2048
	}
	if c.Timeout <= 0 {
		c.Timeout = 300 * time.Second
	}
	if c.StartTLSTimeout <= 0 {
		c.StartTLSTimeout = c.Timeout
	}
	if c.HardErrorLimit <= 0 {
		c.HardErrorLimit = 20
	}
	if c.SoftErrorLimit <= 0 {
		c.SoftErrorLimit = 10
	}
	if c.JunkCommandLimit <= 0 {
		c.JunkCommandLimit = 100
	}
	if c.Grace <= 0 {
		c.Grace = 30 * time.Second
	}
}
