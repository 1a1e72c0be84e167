package smtpd

import (
	"crypto/tls"
	"strings"
	"time"
)

// receivedParams is what our Received: header says.
type receivedParams struct {
	helo     string // the HELO name, or "" (the client name is used)
	name     string // verified client host name or "unknown"
	addr     string // client address as in mail: "1.2.3.4", "IPv6:2001:db8::1"
	host     string // myhostname
	mailName string // mail_name
	proto    string // SMTP, ESMTP, ESMTPS, ESMTPA, ESMTPSA, QMQP
	queueID  string // "" when not known (sendmail -bs)
	rcpt     string // the recipient when there is exactly one
	tls      *tls.ConnectionState
	askCert  bool
	date     time.Time
}

// appendReceived appends Postfix's Received: header (lines end in LF):
//
//	Received: from helo.example (client.example [192.0.2.1])
//		by mx.example.test (Postern) with ESMTP id QID
//		for <bob@example.test>; Sun, 22 Nov 2026 11:07:19 +0000 (UTC)
func appendReceived(b []byte, p receivedParams) []byte {
	helo := p.helo
	if helo == "" {
		helo = p.name
	}
	b = append(b, "Received: from "...)
	b = append(b, helo...)
	b = append(b, " ("...)
	b = append(b, p.name...)
	b = append(b, " ["...)
	b = append(b, p.addr...)
	b = append(b, "])\n"...)
	if p.tls != nil {
		b = append(b, "\t(using "...)
		b = append(b, tlsDescription(p.tls)...)
		b = append(b, ")\n"...)
		switch {
		case len(p.tls.PeerCertificates) > 0:
			c := p.tls.PeerCertificates[0]
			b = append(b, "\t(Client CN \""...)
			b = append(b, commentSanitize(c.Subject.CommonName)...)
			b = append(b, "\", Issuer \""...)
			b = append(b, commentSanitize(c.Issuer.CommonName)...)
			if len(p.tls.VerifiedChains) > 0 {
				b = append(b, "\" (verified OK))\n"...)
			} else {
				b = append(b, "\" (not verified))\n"...)
			}
		case p.askCert:
			b = append(b, "\t(Client did not present a certificate)\n"...)
		default:
			b = append(b, "\t(No client certificate requested)\n"...)
		}
	}
	b = append(b, "\tby "...)
	b = append(b, p.host...)
	b = append(b, " ("...)
	b = append(b, p.mailName...)
	b = append(b, ") with "...)
	b = append(b, p.proto...)
	if p.queueID != "" {
		b = append(b, " id "...)
		b = append(b, p.queueID...)
	}
	if p.rcpt != "" {
		b = append(b, "\n\tfor <"...)
		b = append(b, p.rcpt...)
		b = append(b, ">; "...)
	} else {
		b = append(b, ";\n\t"...)
	}
	b = appendMailDate(b, p.date)
	return append(b, '\n')
}

// appendMailDate writes an RFC 5322 date the way Postfix 3.7 does, with
// the zone's name: "Sun,  2 Nov 2026 11:07:19 +0000 (UTC)".
func appendMailDate(b []byte, t time.Time) []byte {
	return t.AppendFormat(b, "Mon, _2 Jan 2006 15:04:05 -0700 (MST)")
}

// commentSanitize keeps printable ASCII and balanced parentheses, so a
// certificate name cannot break the header comment.
func commentSanitize(s string) string {
	var b strings.Builder
	depth := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c < ' ' || c >= 0x7f || c == '\\':
			c = '?'
		case c == '(':
			depth++
		case c == ')':
			if depth == 0 {
				c = '?'
			} else {
				depth--
			}
		}
		b.WriteByte(c)
	}
	for ; depth > 0; depth-- {
		b.WriteByte(')')
	}
	return b.String()
}

// rfcAddr writes an address as it appears in mail: IPv6 with "IPv6:".
func rfcAddr(a string) string {
	if strings.Contains(a, ":") && !strings.HasPrefix(a, "IPv6:") {
		return "IPv6:" + a
	}
	return a
}
