package bounce

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// maxReturnedHeaders bounds the original header block copied into a
// headers-only report; a header block bigger than this is cut at a line
// boundary.
const maxReturnedHeaders = 1 << 20

// rcptStatus is one recipient line of a report: a log record joined with
// what the queue file says about that recipient.
type rcptStatus struct {
	Addr   string // final recipient
	Orig   string // original recipient, "" when unknown
	ORCPT  string // DSN ORCPT as received ("rfc822;x@y"), "" when none
	Notify string // DSN NOTIFY, "" for the default
	Done   bool   // the queue file marks the recipient done

	Status    string // X.Y.Z
	Action    string // as logged: failed, delayed, delivered, relayed, expanded
	Reason    string // human text
	RemoteMTA string // "mx.example.test" or "dns; mx.example.test"
	DiagType  string // "smtp", "X-Postfix", …
	Diag      string
}

// report is one notification message, composed from plain values so that
// its bytes depend on nothing else (the golden tests inject the clock and
// the host name).
type report struct {
	kind       reportKind
	postmaster bool // a copy for the postmaster: no explanation, headers only
	verify     bool // kindStatus for sendmail -bv: nothing was delivered
	hostname   string
	mailName   string    // mail_name, for Received:
	to         string    // the report's recipient (To:)
	date       time.Time // now: Date:, the boundary, the delay text
	loc        *time.Location
	messageID  string // the report's own Message-Id without <>, "" to leave it to cleanup
	newID      string // the report's own queue ID, for Received:; "" for none
	queueID    string // the original message's
	sender     string // the original envelope sender, "" for the null sender
	envID      string // DSN ENVID
	arrival    time.Time
	retryUntil time.Time // kindDelay: Will-Retry-Until
	origMsgID  string    // the original's Message-Id with <>, for threading; "" for none
	utf8       bool      // the original asked for SMTPUTF8: message/global* types
	// origEncoding is the original's body encoding as cleanup recorded
	// it ("7bit", "8bit" or ""), to mark the report's own.
	origEncoding string
	rcpts        []rcptStatus

	// original is the original message (headers and body, LF line ends);
	// nil when it could not be read.
	original    io.ReaderAt
	origSize    int64
	headersOnly bool // return only the original's headers
}

func (r *report) boundary() string {
	return r.queueID + "." + strconv.FormatInt(r.date.Unix(), 10) + "/" + r.hostname
}

// eightBit reports whether the report carries 8-bit text of its own
// (host names, addresses and reasons in UTF-8), besides the original.
func (r *report) eightBit() bool {
	if !isASCII(r.hostname) || !isASCII(r.to) || !isASCII(r.sender) || !isASCII(r.envID) {
		return true
	}
	for i := range r.rcpts {
		rc := &r.rcpts[i]
		for _, s := range []string{rc.Addr, rc.Orig, rc.ORCPT, rc.Reason, rc.Diag, rc.RemoteMTA} {
			if !isASCII(s) {
				return true
			}
		}
	}
	return false
}

// origEightBit reports whether the part of the original that the report
// returns has 8-bit bytes. The encoding cleanup recorded is trusted when
// there is one.
func (r *report) origEightBit() bool {
	switch r.origEncoding {
	case "8bit":
		return true
	case "7bit":
		return false
	}
	if r.original == nil {
		return false
	}
	n := r.origSize
	if r.headersOnly {
		n = min(n, maxReturnedHeaders)
	}
	buf := make([]byte, 32<<10)
	for off := int64(0); off < n; {
		k, err := r.original.ReadAt(buf[:min(int64(len(buf)), n-off)], off)
		for _, c := range buf[:k] {
			if c >= 0x80 {
				return true
			}
		}
		off += int64(k)
		if err != nil {
			break
		}
	}
	return false
}

// writeTo writes the whole report: the message header, the human part,
// the delivery-status part and the original or its headers. Lines end in
// LF, as cleanup and the queue file keep them.
func (r *report) writeTo(w io.Writer) error {
	var b strings.Builder
	b.Grow(2048 + 256*len(r.rcpts))
	r.writeHead(&b)
	r.writeHuman(&b)
	r.writeDSN(&b)
	r.writeOriginalHead(&b)
	if _, err := io.WriteString(w, b.String()); err != nil {
		return err
	}
	if err := r.copyOriginal(w); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n--"+r.boundary()+"--\n")
	return err
}

func (r *report) writeHead(b *strings.Builder) {
	date := mailDate(r.date, r.loc)
	// As Postfix's daemons do for the mail they post: a Received: header
	// with the new queue ID, and Date:, first.
	if r.newID != "" {
		b.WriteString("Received: by " + r.hostname + " (" + clean(r.mailName) + ")\n")
		b.WriteString("\tid " + r.newID + "; " + date + "\n")
	}
	b.WriteString("Date: " + date + "\n")
	b.WriteString("From: Mail Delivery System <MAILER-DAEMON@" + r.hostname + ">\n")
	b.WriteString("Subject: " + r.kind.subject(r.postmaster) + "\n")
	b.WriteString("To: " + clean(r.to) + "\n")
	if r.origMsgID != "" {
		b.WriteString("References: " + r.origMsgID + "\n")
		b.WriteString("In-Reply-To: " + r.origMsgID + "\n")
	}
	if r.postmaster {
		b.WriteString("Auto-Submitted: auto-generated\n")
	} else {
		b.WriteString("Auto-Submitted: auto-replied\n")
	}
	b.WriteString("MIME-Version: 1.0\n")
	b.WriteString("Content-Type: multipart/report; report-type=delivery-status;\n")
	b.WriteString("\tboundary=\"" + r.boundary() + "\"\n")
	b.WriteString("Content-Transfer-Encoding: 8bit\n")
	if r.messageID != "" {
		b.WriteString("Message-Id: <" + r.messageID + ">\n")
	}
	b.WriteString("\nThis is a MIME-encapsulated message.\n")
}

// writeHuman writes the text/plain part: the explanation (not in
// postmaster copies) and one paragraph per recipient.
func (r *report) writeHuman(b *strings.Builder) {
	b.WriteString("\n--" + r.boundary() + "\n")
	b.WriteString("Content-Description: Notification\n")
	b.WriteString("Content-Type: text/plain; charset=utf-8\n")
	b.WriteString("Content-Transfer-Encoding: 8bit\n\n")
	if !r.postmaster {
		b.WriteString(r.explanation())
	}
	for i := range r.rcpts {
		rc := &r.rcpts[i]
		if i > 0 || !r.postmaster {
			b.WriteByte('\n')
		}
		line := "<" + clean(rc.Addr) + ">"
		if rc.Orig != "" && !strings.EqualFold(rc.Orig, rc.Addr) {
			line += " (expanded from <" + clean(rc.Orig) + ">)"
		}
		wrap(b, line+": "+clean(rc.reason()))
	}
}

// writeDSN writes the message/delivery-status part (RFC 3464).
func (r *report) writeDSN(b *strings.Builder) {
	b.WriteString("\n--" + r.boundary() + "\n")
	b.WriteString("Content-Description: Delivery report\n")
	if r.utf8 {
		b.WriteString("Content-Type: message/global-delivery-status\n")
		b.WriteString("Content-Transfer-Encoding: 8bit\n")
	} else {
		b.WriteString("Content-Type: message/delivery-status\n")
	}
	b.WriteString("\nReporting-MTA: dns; " + r.hostname + "\n")
	if r.envID != "" {
		b.WriteString("Original-Envelope-Id: " + clean(r.envID) + "\n")
	}
	b.WriteString("X-Postfix-Queue-ID: " + r.queueID + "\n")
	sender := r.sender
	if sender == "" {
		sender = "MAILER-DAEMON"
	}
	b.WriteString("X-Postfix-Sender: " + r.addrType(sender) + "; " + clean(sender) + "\n")
	if !r.arrival.IsZero() {
		b.WriteString("Arrival-Date: " + mailDate(r.arrival, r.loc) + "\n")
	}
	for i := range r.rcpts {
		rc := &r.rcpts[i]
		b.WriteString("\nFinal-Recipient: " + r.addrType(rc.Addr) + "; " + clean(rc.Addr) + "\n")
		switch {
		case rc.ORCPT != "":
			orcpt := clean(decodeXtext(rc.ORCPT))
			if !strings.Contains(orcpt, ";") {
				orcpt = "rfc822;" + orcpt
			}
			b.WriteString("Original-Recipient: " + orcpt + "\n")
		case rc.Orig != "":
			b.WriteString("Original-Recipient: " + r.addrType(rc.Orig) + ";" + clean(rc.Orig) + "\n")
		default:
			b.WriteString("Original-Recipient: " + r.addrType(rc.Addr) + ";" + clean(rc.Addr) + "\n")
		}
		b.WriteString("Action: " + r.action(rc) + "\n")
		b.WriteString("Status: " + rc.status() + "\n")
		if mta := clean(rc.RemoteMTA); mta != "" {
			if !strings.Contains(mta, ";") {
				mta = "dns; " + mta
			}
			wrap(b, "Remote-MTA: "+mta)
		}
		if rc.DiagType != "" && rc.Diag != "" {
			wrap(b, "Diagnostic-Code: "+clean(rc.DiagType)+"; "+clean(rc.Diag))
		} else {
			wrap(b, "Diagnostic-Code: X-Postfix; "+clean(rc.reason()))
		}
		if r.kind == kindDelay {
			b.WriteString("Will-Retry-Until: " + mailDate(r.retryUntil, r.loc) + "\n")
		}
	}
}

// addrType is the DSN address type of a: utf-8 for an internationalized
// address in a report about SMTPUTF8 mail, else rfc822.
func (r *report) addrType(a string) string {
	if r.utf8 && !isASCII(a) {
		return "utf-8"
	}
	return "rfc822"
}

// action is the DSN Action of a recipient in this kind of report.
func (r *report) action(rc *rcptStatus) string {
	switch r.kind {
	case kindFailure:
		return "failed" // also for expired mail, which keeps its 4.x.x status
	case kindDelay:
		return "delayed"
	case kindSuccess:
		switch rc.Action {
		case "relayed", "expanded":
			return rc.Action
		}
		return "delivered"
	}
	if r.verify {
		if strings.HasPrefix(rc.status(), "2.") {
			return "deliverable"
		}
		return "undeliverable"
	}
	if rc.Action != "" {
		return clean(rc.Action)
	}
	return "delivered"
}

// status is the recipient's enhanced status code, made up from its
// action when the log has none.
func (rc *rcptStatus) status() string {
	if rc.Status != "" {
		return clean(rc.Status)
	}
	switch rc.Action {
	case "failed":
		return "5.0.0"
	case "delivered", "relayed", "expanded":
		return "2.0.0"
	}
	return "4.0.0"
}

// reason is the human text about a recipient.
func (rc *rcptStatus) reason() string {
	switch {
	case rc.Reason != "":
		return rc.Reason
	case rc.Diag != "":
		return rc.Diag
	}
	return "no reason was recorded"
}

// writeOriginalHead starts the part that returns the original message.
func (r *report) writeOriginalHead(b *strings.Builder) {
	b.WriteString("\n--" + r.boundary() + "\n")
	desc := "Message"
	if r.headersOnly {
		desc = "Message Headers"
	}
	if r.kind.undelivered() {
		desc = "Undelivered " + desc
	}
	b.WriteString("Content-Description: " + desc + "\n")
	switch {
	case r.utf8 && r.headersOnly:
		b.WriteString("Content-Type: message/global-headers\n")
	case r.utf8:
		b.WriteString("Content-Type: message/global\n")
	case r.headersOnly:
		b.WriteString("Content-Type: text/rfc822-headers\n")
	default:
		b.WriteString("Content-Type: message/rfc822\n")
	}
	b.WriteString("Content-Transfer-Encoding: 8bit\n\n")
	if r.original == nil {
		return
	}
	sender := r.sender
	b.WriteString("Return-Path: <" + clean(sender) + ">\n")
}

// copyOriginal copies the original message, or its header block, byte for
// byte, and makes sure what it wrote ends with a newline.
func (r *report) copyOriginal(w io.Writer) error {
	if r.original == nil {
		_, err := io.WriteString(w, "[The original message could not be read.]\n")
		return err
	}
	sr := io.NewSectionReader(r.original, 0, r.origSize)
	if r.headersOnly {
		return copyHeaders(w, sr)
	}
	if _, err := io.Copy(w, sr); err != nil {
		return fmt.Errorf("copy the original message: %w", err)
	}
	if r.origSize > 0 {
		var last [1]byte
		if _, err := r.original.ReadAt(last[:], r.origSize-1); err != nil {
			return fmt.Errorf("copy the original message: %w", err)
		}
		if last[0] != '\n' {
			_, err := io.WriteString(w, "\n")
			return err
		}
	}
	return nil
}

// copyHeaders copies the header block at the start of msg: header fields
// and their continuation lines, up to the empty line or the first line
// that is neither, and at most maxReturnedHeaders bytes.
func copyHeaders(w io.Writer, msg io.Reader) error {
	br := bufio.NewReaderSize(msg, 8192)
	var n int64
	midLine := false // the last piece read did not end a line
	for n < maxReturnedHeaders {
		piece, err := br.ReadSlice('\n')
		if len(piece) > 0 {
			if !midLine && !isHeaderLine(piece) {
				return nil
			}
			if _, werr := w.Write(piece); werr != nil {
				return werr
			}
			n += int64(len(piece))
			midLine = piece[len(piece)-1] != '\n'
		}
		switch err {
		case nil, bufio.ErrBufferFull:
		case io.EOF:
			if midLine {
				_, werr := io.WriteString(w, "\n")
				return werr
			}
			return nil
		default:
			return fmt.Errorf("copy the original headers: %w", err)
		}
	}
	if midLine {
		_, err := io.WriteString(w, "\n")
		return err
	}
	return nil
}

// headersEightBit reports whether the header block of msg has 8-bit
// bytes (UTF-8 headers of SMTPUTF8 mail).
func headersEightBit(msg io.Reader) bool {
	var d eightBitDetector
	copyHeaders(&d, msg) //nolint:errcheck // a read error only ends the scan
	return bool(d)
}

type eightBitDetector bool

func (d *eightBitDetector) Write(p []byte) (int, error) {
	for _, c := range p {
		if c >= 0x80 {
			*d = true
			break
		}
	}
	return len(p), nil
}

// isHeaderLine reports whether line starts a header field ("Name:") or
// continues one (starts with a blank).
func isHeaderLine(line []byte) bool {
	if line[0] == ' ' || line[0] == '\t' {
		return true
	}
	for i, c := range line {
		switch {
		case c == ':':
			return i > 0
		case c <= ' ' || c >= 0x7f:
			return false
		}
	}
	return false
}
