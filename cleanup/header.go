package cleanup

import (
	"bytes"
	"mime"
	"strings"
	"time"

	"github.com/postern-mta/postern/internal/dsn"
	"github.com/postern-mta/postern/internal/header"
	"github.com/postern-mta/postern/internal/proto"
)

// hdrKind names the headers cleanup knows.
type hdrKind uint8

const (
	hOther hdrKind = iota
	hApparentlyTo
	hBcc
	hCc
	hContentLength
	hContentType
	hMIMEOther // MIME-Version, Content-Transfer-Encoding, …
	hDate
	hDeliveredTo
	hDispositionNotificationTo
	hErrorsTo
	hFrom
	hMailFollowupTo
	hMessageID
	hReceived
	hReplyTo
	hResentBcc
	hResentCc
	hResentDate
	hResentFrom
	hResentMessageID
	hResentReplyTo
	hResentSender
	hResentTo
	hReturnPath
	hReturnReceiptTo
	hSender
	hTo
)

// Header properties.
const (
	fSender  = 1 << iota // holds sender addresses: rewritten as such
	fRecip               // holds recipient addresses: rewritten as such
	fExtract             // sendmail -t takes recipients from it
	fDrop                // removed from every message
	fResent              // a Resent- header
	fMIME                // a MIME header: checked with mime_header_checks
)

type hdrInfo struct {
	kind  hdrKind
	flags uint8
}

// knownHeaders are the headers cleanup acts on, by lower-case name.
var knownHeaders = map[string]hdrInfo{
	"apparently-to":               {hApparentlyTo, fRecip},
	"bcc":                         {hBcc, fRecip | fExtract | fDrop},
	"cc":                          {hCc, fRecip | fExtract},
	"content-length":              {hContentLength, fDrop},
	"content-type":                {hContentType, fMIME},
	"content-transfer-encoding":   {hMIMEOther, fMIME},
	"content-description":         {hMIMEOther, fMIME},
	"content-disposition":         {hMIMEOther, fMIME},
	"content-id":                  {hMIMEOther, fMIME},
	"mime-version":                {hMIMEOther, fMIME},
	"date":                        {hDate, 0},
	"delivered-to":                {hDeliveredTo, 0},
	"disposition-notification-to": {hDispositionNotificationTo, fSender},
	"errors-to":                   {hErrorsTo, fSender},
	"from":                        {hFrom, fSender},
	"mail-followup-to":            {hMailFollowupTo, fSender},
	"message-id":                  {hMessageID, 0},
	"received":                    {hReceived, 0},
	"reply-to":                    {hReplyTo, fSender},
	"resent-bcc":                  {hResentBcc, fRecip | fExtract | fDrop | fResent},
	"resent-cc":                   {hResentCc, fRecip | fExtract | fResent},
	"resent-date":                 {hResentDate, fResent},
	"resent-from":                 {hResentFrom, fSender | fResent},
	"resent-message-id":           {hResentMessageID, fResent},
	"resent-reply-to":             {hResentReplyTo, fRecip | fResent},
	"resent-sender":               {hResentSender, fSender | fResent},
	"resent-to":                   {hResentTo, fRecip | fExtract | fResent},
	"return-path":                 {hReturnPath, fSender | fDrop},
	"return-receipt-to":           {hReturnReceiptTo, fSender},
	"sender":                      {hSender, fSender},
	"to":                          {hTo, fRecip | fExtract},
}

// headerName returns the field name of a header and where its value
// starts (after the colon).
func headerName(h []byte) (name []byte, value int) {
	i := bytes.IndexByte(h, ':')
	if i < 0 {
		return nil, len(h)
	}
	return bytes.TrimRight(h[:i], " \t"), i + 1
}

// lookupHeader finds a header's properties without allocating.
func lookupHeader(name []byte) hdrInfo {
	if len(name) > 40 {
		return hdrInfo{}
	}
	var buf [40]byte
	for i, c := range name {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	return knownHeaders[string(buf[:len(name)])]
}

// header handles one complete logical header (LF between its lines, no
// final line end) of the given block class.
func (p *parser) header(h []byte) {
	m := p.m
	name, _ := headerName(h)
	info := lookupHeader(name)
	if m.checks {
		t, param := m.cfg.HeaderChecks, "header_checks"
		switch {
		case p.class == classNested:
			t, param = m.cfg.NestedHeaderChecks, "nested_header_checks"
		case p.class == classMultipart || info.flags&fMIME != 0:
			t, param = m.cfg.MIMEHeaderChecks, "mime_header_checks"
		}
		if t != nil {
			out, keep := m.check(t, param, "header", h)
			if !keep {
				return
			}
			if !sameSlice(out, h) {
				h = out
				name, _ = headerName(h)
				info = lookupHeader(name)
			}
		}
	}
	if info.kind == hContentType && p.mime {
		p.blockCT = parseContentType(h)
	}
	if p.class != classPrimary {
		m.write(h)
		m.write(newline)
		return
	}
	m.primaryHeader(h, info)
}

// primaryHeader handles a header of the message itself: counting,
// logging, -t extraction, removal and address rewriting.
func (m *message) primaryHeader(h []byte, info hdrInfo) {
	if info.kind != hOther {
		m.seen |= 1 << info.kind
	}
	_, vstart := headerName(h)
	switch info.kind {
	case hReceived:
		m.hops++
		if m.cfg.HopcountLimit > 0 && m.hops >= m.cfg.HopcountLimit && m.reject == nil {
			m.reject = &dsn.Status{Code: 554, Enhanced: "5.4.0", Text: "Error: too many hops"}
		}
	case hMessageID:
		m.log.Info("%s: message-id=%s", m.id, bytes.TrimLeft(h[vstart:], " \t\n"))
	case hResentMessageID:
		m.log.Info("%s: resent-message-id=%s", m.id, bytes.TrimLeft(h[vstart:], " \t\n"))
	}
	if info.flags&fResent != 0 {
		m.resent = true
	}
	if info.flags&fExtract != 0 && m.flags&proto.CleanupExtractRcpt != 0 {
		for _, a := range splitAddrList(string(h[vstart:]), m.cfg.HeaderAddressTokenLimit) {
			if info.flags&fResent != 0 {
				m.extractedR = append(m.extractedR, a)
			} else {
				m.extracted = append(m.extracted, a)
			}
		}
	}
	if info.flags&fDrop != 0 {
		return
	}
	if info.flags&(fSender|fRecip) != 0 && m.hdrCtx != ctxNone {
		h = m.rewriteHeader(h, vstart, info.flags&fSender != 0)
	}
	m.write(h)
	m.write(newline)
}

// rewriteHeader rewrites the addresses of a sender or recipient header.
// Only the addresses that change are replaced; the rest of the header is
// kept as it was.
func (m *message) rewriteHeader(h []byte, vstart int, isSender bool) []byte {
	v := string(h[vstart:])
	refs := scanAddrs(v, m.cfg.HeaderAddressTokenLimit)
	if len(refs) == 0 {
		return h
	}
	nv, changed := replaceAddrs(v, refs, func(a string) string {
		n, err := m.rw.headerAddr(m.ctx, a, isSender, m.hdrCtx)
		if err != nil {
			m.warnf("header address rewriting lookup problem for %s -- message not accepted, try again later", a)
			m.tempFail(errTable.Wrap(err))
			return a
		}
		return n
	})
	if !changed {
		return h
	}
	out := make([]byte, 0, vstart+len(nv))
	out = append(out, h[:vstart]...)
	return append(out, nv...)
}

func (m *message) saw(k hdrKind) bool { return m.seen&(1<<k) != 0 }

// headersDone is called at the end of the primary header: it adds the
// headers a message must have, when the message is local or always_add_
// missing_headers says so, and writes the envelope.
func (m *message) headersDone() {
	add := m.hdrCtx != ctxNone || m.cfg.AlwaysAddMissingHeaders
	resent := ""
	idKind, dateKind, fromKind := hMessageID, hDate, hFrom
	if m.resent {
		resent = "Resent-"
		idKind, dateKind, fromKind = hResentMessageID, hResentDate, hResentFrom
	}
	if add && !m.saw(idKind) {
		id := "<" + m.id + "@" + m.cfg.MyHostname + ">"
		m.writeString(resent + "Message-Id: " + id + "\n")
		if m.resent {
			m.log.Info("%s: resent-message-id=%s", m.id, id)
		} else {
			m.log.Info("%s: message-id=%s", m.id, id)
		}
		m.seen |= 1 << idKind
	}
	if !m.saw(hMessageID) {
		m.log.Info("%s: message-id=<>", m.id)
	}
	if add && !m.saw(dateKind) {
		m.writeString(resent + "Date: " + mailDate(m.arrival) + "\n")
	}
	if add && !m.saw(fromKind) {
		m.writeString(resent + "From: " + fromValue(m.sender, m.open.FullName) + "\n")
	}
	visible := m.saw(hTo) || m.saw(hCc) || m.saw(hResentTo) || m.saw(hResentCc)
	if add && !visible && m.cfg.UndisclosedRecipientsHeader != "" {
		if header.IsStart([]byte(m.cfg.UndisclosedRecipientsHeader)) {
			m.writeString(m.cfg.UndisclosedRecipientsHeader + "\n")
		} else {
			m.log.Warning("bad undisclosed_recipients_header text %q -- need \"headername: headervalue\"", m.cfg.UndisclosedRecipientsHeader)
		}
	}
	m.writeEnvelope()
}

// mailDate formats a Date: header value as Postfix does:
// "Sun, 22 Nov 2026 11:07:19 +0000 (UTC)", a blank before one-digit days.
func mailDate(t time.Time) string {
	return t.Format("Mon, _2 Jan 2006 15:04:05 -0700 (MST)")
}

// fromValue is the value of an added From: header: the sender, with the
// full name as display name when there is one ("Full Name <sender>"); the
// null sender is MAILER-DAEMON.
func fromValue(sender, fullName string) string {
	if sender == "" {
		return "MAILER-DAEMON"
	}
	noControls := func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}
	sender = strings.Map(noControls, sender) // a header line stays one line
	fullName = strings.TrimSpace(strings.Map(noControls, fullName))
	if fullName == "" {
		return sender
	}
	return phrase(fullName) + " <" + sender + ">"
}

// phrase makes a display name safe: as it is when it is made of atoms,
// quoted when it has specials, RFC 2047 encoded when it is not ASCII.
func phrase(s string) string {
	ascii, atoms := true, true
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 0x80:
			ascii = false
		case c == ' ':
		case addrAtext(c):
		default:
			atoms = false
		}
	}
	switch {
	case !ascii:
		return mime.QEncoding.Encode("utf-8", s)
	case atoms:
		return s
	}
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
	return b.String()
}

func addrAtext(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0
}

// sameSlice reports whether a and b are the same bytes in memory.
func sameSlice(a, b []byte) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}
