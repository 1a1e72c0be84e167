package smtpd

import (
	"context"
	"crypto/tls"
	"fmt"
	"strings"
	"time"

	"github.com/postern-mta/postern/internal/proto"
)

// Command flags, as Postfix's command table has them.
const (
	cmdLimit  = 1 << iota // counts toward smtpd_junk_command_limit
	cmdPreTLS             // allowed before STARTTLS when TLS is enforced
	cmdLast               // ends a pipelined group: input after it is improper
)

type cmdDef struct {
	name  string
	fn    func(s *session, arg string) bool
	flags int
}

// commands is the command table, in the order the disconnect line lists
// the counters.
var commands = []cmdDef{
	{"HELO", (*session).helo, cmdLimit | cmdPreTLS | cmdLast},
	{"EHLO", (*session).ehlo, cmdLimit | cmdPreTLS | cmdLast},
	{"STARTTLS", (*session).starttls, cmdPreTLS},
	{"AUTH", (*session).auth, 0},
	{"MAIL", (*session).mail, 0},
	{"RCPT", (*session).rcpt, 0},
	{"DATA", (*session).data, cmdLast},
	{"BDAT", (*session).bdatCmd, 0},
	{"RSET", (*session).rset, cmdLimit},
	{"NOOP", (*session).noop, cmdLimit | cmdPreTLS | cmdLast},
	{"VRFY", (*session).vrfy, cmdLimit | cmdLast},
	{"ETRN", (*session).etrn, cmdLimit},
	{"QUIT", (*session).quit, cmdPreTLS},
}

const numCommands = 13

func lookupCommand(verb string) int {
	for i := range commands {
		if strings.EqualFold(commands[i].name, verb) {
			return i
		}
	}
	return -1
}

// dispatch runs one command line.
func (s *session) dispatch(line string) {
	verb, arg := splitCommand(line)
	if verb == "" {
		s.reply("500 5.5.2 Error: bad syntax")
		s.errorCount++
		return
	}
	if s.cfg.noop(verb) {
		s.reply("250 2.0.0 Ok")
		s.countJunk()
		return
	}
	i := lookupCommand(verb)
	if i < 0 {
		s.st.where = "UNKNOWN"
		s.unknown.total++
		if isHeader(verb) || s.cfg.Forbidden.match(s.ctx, verb) {
			s.log.Warning("non-SMTP command from %s: %.100s", s.clientLog(), printable(line, '?'))
			s.reply("221 2.7.0 Error: I can break rules, too. Goodbye.")
			s.hangup = true
			return
		}
		s.reply("502 5.5.2 Error: command not recognized")
		s.errorCount++
		return
	}
	d := &commands[i]
	if s.st.accessDenied != "" && d.name != "QUIT" {
		s.counts[i].total++
		s.reply("503 5.7.0 Error: access denied for %s", s.st.namaddr())
		s.errorCount++
		return
	}
	if s.cfg.TLSEnforce && s.tls == nil && d.flags&cmdPreTLS == 0 {
		s.counts[i].total++
		s.reply("530 5.7.0 Must issue a STARTTLS command first")
		s.errorCount++
		return
	}
	s.st.where = d.name
	if !s.cfg.Standalone && (s.st.protocol != "ESMTP" || d.flags&cmdLast != 0) && !s.st.illPipelining && s.in.pending() {
		s.log.Info("improper command pipelining after %s from %s: %s", d.name, s.clientLog(), escape(s.in.peek(100)))
		s.st.illPipelining = true
	}
	s.counts[i].total++
	if d.fn(s, arg) {
		s.counts[i].ok++
	} else {
		s.errorCount++
	}
	if d.flags&cmdLimit != 0 {
		s.countJunk()
	}
}

// countJunk counts one junk command (NOOP, VRFY, ETRN, RSET, HELO/EHLO).
// As in Postfix, the count before this command is compared with
// smtpd_junk_command_limit: the first limit+1 are free.
func (s *session) countJunk() {
	if s.junk > s.cfg.JunkCommandLimit {
		s.errorCount++
	}
	s.junk++
}

// splitCommand splits "VERB argument" at the first space.
func splitCommand(line string) (verb, arg string) {
	line = strings.TrimLeft(line, " \t")
	verb, arg, _ = strings.Cut(line, " ")
	if i := strings.IndexByte(verb, '\t'); i >= 0 {
		verb, arg = verb[:i], verb[i+1:]+" "+arg
	}
	return verb, strings.Trim(arg, " \t")
}

// escape shows client bytes in a log line the way Postfix does
// (\r\n and friends).
func escape(b []byte) string {
	var sb strings.Builder
	for _, c := range b {
		switch {
		case c == '\r':
			sb.WriteString(`\r`)
		case c == '\n':
			sb.WriteString(`\n`)
		case c == '\t':
			sb.WriteString(`\t`)
		case c == '\\':
			sb.WriteString(`\\`)
		case c < ' ' || c >= 0x7f:
			fmt.Fprintf(&sb, `\%03o`, c)
		default:
			sb.WriteByte(c)
		}
	}
	return sb.String()
}

func (s *session) inTransaction() bool { return s.st.haveSender }

// resetTransaction forgets the mail transaction (RSET, end of DATA).
func (s *session) resetTransaction() {
	s.abortTransaction()
	s.st.haveSender, s.st.sender = false, ""
	s.st.haveRcpt, s.st.recipient = false, ""
	s.st.rcptCount = 0
	s.st.queueID = ""
	s.st.fx = effects{}
	s.rcpts = s.rcpts[:0]
	if cap(s.rcpts) > 64 {
		s.rcpts = nil
	}
	s.dsnRet, s.envID, s.encoding = "", "", ""
	s.msgSize, s.actSize = 0, 0
	s.bdat = nil
}

// abortTransaction drops a message being received with BDAT.
func (s *session) abortTransaction() {
	if s.bdat != nil && s.bdat.msg != nil && s.bdat.msg.chunk != nil {
		s.bdat.msg.sub.Abort()
		releaseMessage(s.bdat.msg)
	}
	s.bdat = nil
}

// heloReset forgets the HELO name (a new HELO, STARTTLS).
func (s *session) heloReset() {
	s.st.helo = ""
}

func (s *session) helo(arg string) bool {
	if arg == "" {
		s.reply("501 Syntax: HELO hostname")
		return false
	}
	if reply := s.heloCheck(arg); reply != "" {
		s.reply("%s", reply)
		return false
	}
	s.heloReset()
	s.resetTransaction()
	s.st.helo = neuter(printable(arg, '?'))
	if s.st.protocol != "ESMTP" && s.st.protocol != "SMTP" {
		s.st.protocol = "SMTP"
	}
	s.reply("250 %s", s.cfg.MyHostname)
	return true
}

func (s *session) ehlo(arg string) bool {
	if arg == "" {
		s.reply("501 Syntax: EHLO hostname")
		return false
	}
	if reply := s.heloCheck(arg); reply != "" {
		s.reply("%s", reply)
		return false
	}
	s.heloReset()
	s.resetTransaction()
	s.st.helo = neuter(printable(arg, '?'))
	s.st.protocol = "ESMTP"
	lines := []string{s.cfg.MyHostname}
	add := func(keyword, text string) {
		if !s.cfg.discarded(keyword) {
			lines = append(lines, text)
		}
	}
	add("pipelining", "PIPELINING")
	if s.cfg.MessageSizeLimit > 0 {
		add("size", fmt.Sprintf("SIZE %d", s.cfg.MessageSizeLimit))
	} else {
		add("size", "SIZE")
	}
	if !s.cfg.DisableVRFY {
		add("vrfy", "VRFY")
	}
	add("etrn", "ETRN")
	if s.cfg.TLS != nil && s.tls == nil && !s.cfg.Standalone {
		add("starttls", "STARTTLS")
	}
	add("enhancedstatuscodes", "ENHANCEDSTATUSCODES")
	add("8bitmime", "8BITMIME")
	add("dsn", "DSN")
	if s.cfg.SMTPUTF8 {
		add("smtputf8", "SMTPUTF8")
	}
	add("chunking", "CHUNKING")
	for i, l := range lines {
		sep := "-"
		if i == len(lines)-1 {
			sep = " "
		}
		s.reply("250%s%s", sep, l)
	}
	return true
}

// heloCheck applies smtpd_helo_restrictions now when smtpd_delay_reject
// is off.
func (s *session) heloCheck(name string) string {
	if !s.cfg.Restrictions || s.cfg.Checks.DelayReject {
		return ""
	}
	return s.checkHelo(name)
}

// neuter replaces characters that would break a Received: header or a
// log line.
func neuter(s string) string {
	if !strings.ContainsAny(s, " <>()\\\";@") {
		return s
	}
	b := []byte(s)
	for i, c := range b {
		if strings.IndexByte(" <>()\\\";@", c) >= 0 {
			b[i] = '?'
		}
	}
	return string(b)
}

func (s *session) rset(arg string) bool {
	if arg != "" {
		s.reply("501 5.5.4 Syntax: RSET")
		return false
	}
	s.resetTransaction()
	s.reply("250 2.0.0 Ok")
	return true
}

func (s *session) noop(string) bool {
	s.reply("250 2.0.0 Ok")
	return true
}

func (s *session) quit(string) bool {
	s.reply("221 2.0.0 Bye")
	s.hangup = true
	return true
}

func (s *session) auth(string) bool {
	s.reply("503 5.5.1 Error: authentication not enabled")
	return false
}

func (s *session) vrfy(arg string) bool {
	if s.cfg.DisableVRFY {
		s.reply("502 5.5.1 VRFY command is disabled")
		return false
	}
	if arg == "" {
		s.reply("501 5.5.4 Syntax: VRFY address")
		return false
	}
	a, ok := extractAddress(arg, false)
	if !ok || a == "" {
		s.log.Warning("Illegal address syntax from %s in VRFY command: %s", s.clientLog(), printable(arg, '?'))
		s.reply("501 5.1.3 Bad recipient address syntax")
		return false
	}
	if s.cfg.Restrictions {
		if reply := s.checkRcpt(a); reply != "" {
			s.reply("%s", reply)
			return false
		}
	}
	s.reply("252 2.0.0 %s", arg)
	return true
}

func (s *session) etrn(arg string) bool {
	if s.cfg.HeloRequired && s.st.helo == "" {
		s.reply("503 Error: send HELO/EHLO first")
		return false
	}
	if s.inTransaction() {
		s.reply("503 Error: MAIL transaction in progress")
		return false
	}
	if arg == "" || strings.ContainsAny(arg, " \t") {
		s.reply("500 Syntax: ETRN domain")
		return false
	}
	site := arg
	if site[0] == '@' || site[0] == '#' {
		site = site[1:]
	}
	if !validETRNSite(site) {
		s.reply("501 Error: invalid parameter syntax")
		return false
	}
	if s.cfg.Standalone {
		s.log.Warning(`do not use ETRN in "sendmail -bs" mode`)
		s.reply("458 Unable to queue messages")
		return false
	}
	if s.cfg.Restrictions {
		if reply := s.checkETRN(site); reply != "" {
			s.reply("%s", reply)
			return false
		}
	}
	ok, err := s.cfg.FastFlushDomains.Match(s.ctx, strings.Trim(site, "[]"))
	if err == nil && !ok && strings.HasPrefix(site, "[") {
		ok, err = s.cfg.FastFlushDomains.Match(s.ctx, site)
	}
	if err != nil {
		s.log.Warning("fast_flush_domains lookup of %s: %v", site, err)
		s.reply("458 Unable to queue messages")
		return false
	}
	if !ok {
		s.log.Warning("reject: ETRN %.100s... from %s", site, s.clientLog())
		s.reply("459 <%s>: service unavailable", site)
		return false
	}
	ctx, cancel := context.WithTimeout(s.ctx, 10*time.Second)
	defer cancel()
	_, err = proto.Control(ctx, proto.PublicPath(s.cfg.QueueDir, proto.ServiceQmgr), proto.ServiceQmgr, proto.VersionQmgr,
		proto.ControlRequest{Op: proto.OpFlushSite, Site: site})
	if err != nil {
		s.log.Warning("unable to talk to fast flush service: %v", err)
		s.reply("458 Unable to queue messages")
		return false
	}
	s.reply("250 Queuing started")
	return true
}

// validETRNSite accepts a host name or an address literal.
func validETRNSite(site string) bool {
	if strings.HasPrefix(site, "[") && strings.HasSuffix(site, "]") {
		_, ok := mailhostAddr(site[1 : len(site)-1])
		return ok
	}
	return validHostnameOrAddr(site)
}

func (s *session) starttls(arg string) bool {
	if arg != "" {
		s.reply("501 5.5.4 Syntax: STARTTLS")
		return false
	}
	if s.tls != nil {
		s.reply("554 5.5.1 Error: TLS already active")
		return false
	}
	if s.cfg.TLS == nil || s.cfg.Standalone || s.cfg.discarded("starttls") {
		s.reply("502 5.5.1 Error: command not implemented")
		return false
	}
	s.reply("220 2.0.0 Ready to start TLS")
	if err := s.flush(); err != nil {
		s.reason = "lost connection"
		s.hangup = true
		return false
	}
	s.heloReset()
	s.resetTransaction()
	s.st.protocol = "SMTP"
	return s.handshake()
}

// handshake turns TLS on. Bytes the client sent after STARTTLS but
// before the handshake are thrown away, never taken as sent over TLS.
func (s *session) handshake() bool {
	raw := s.in.conn
	tc := tls.Server(raw, s.cfg.TLS)
	tc.SetDeadline(time.Now().Add(s.cfg.StartTLSTimeout)) //nolint:errcheck // the handshake reports it
	if s.in.buffered() > 0 {
		s.in.r = s.in.w
	}
	if err := tc.HandshakeContext(s.ctx); err != nil {
		s.log.Warning("TLS library problem: %v", err)
		s.log.Info("SSL_accept error from %s: %v", s.clientLog(), err)
		s.reason = "lost connection"
		s.hangup = true
		return false
	}
	tc.SetDeadline(time.Time{}) //nolint:errcheck // deadlines are set before each read and write
	state := tc.ConnectionState()
	s.tls = &state
	s.st.tls = true
	s.conn = tc
	s.w = tc
	s.in.release()
	s.in.setConn(tc)
	if s.cfg.TLSLogLevel >= 1 {
		s.log.Info("Anonymous TLS connection established from %s: %s", s.clientLog(), tlsDescription(&state))
	}
	return true
}
