package cleanup

import (
	"bufio"
	"bytes"
	"errors"
	"io"

	"github.com/postern-mta/postern/internal/header"
)

// The content arrives as sent: CRLF or LF line ends, lines of any length.
// It is read once, line by line while it can still matter (headers, and
// body lines when body or MIME checks are configured), then copied in
// bulk. Line ends become LF; a last line without one gets one. Everything
// else goes to the queue file byte for byte.

// lineReader returns the lines of a stream in pieces of at most the
// bufio.Reader's size, with CRLF or LF line ends taken off.
type lineReader struct {
	br        *bufio.Reader
	pendingCR bool // a piece ended with CR: it may be half of a CRLF
	scratch   []byte
}

// next returns the next piece of a line; complete is true when a line end
// followed it. It never returns an empty incomplete piece. At the end of
// the stream it returns io.EOF.
func (l *lineReader) next() (piece []byte, complete bool, err error) {
	for {
		p, err := l.br.ReadSlice('\n')
		if l.pendingCR {
			l.pendingCR = false
			if len(p) > 0 && p[0] == '\n' {
				return p[:0], true, nil // that CR was the CR of a CRLF
			}
			l.scratch = append(append(l.scratch[:0], '\r'), p...)
			p = l.scratch
		}
		switch {
		case err == nil:
			p = p[:len(p)-1]
			if n := len(p); n > 0 && p[n-1] == '\r' {
				p = p[:n-1]
			}
			return p, true, nil
		case errors.Is(err, bufio.ErrBufferFull):
			if p[len(p)-1] == '\r' {
				l.pendingCR = true
				p = p[:len(p)-1]
				if len(p) == 0 {
					continue
				}
			}
			return p, false, nil
		case err == io.EOF:
			if len(p) == 0 {
				return nil, false, io.EOF
			}
			return p, false, nil
		default:
			return nil, false, err
		}
	}
}

// Header block classes, for the check tables.
const (
	classPrimary   = iota // the message header: header_checks
	classMultipart        // a MIME part header: mime_header_checks
	classNested           // the header of an attached message: nested_header_checks
)

// parser is the state of reading one message's content.
type parser struct {
	m  *message
	lr lineReader

	inHeader  bool   // reading a header block
	class     int    // of that block
	primary   bool   // still in the primary header block
	hdr       []byte // the logical header being collected
	lineStart bool   // the next piece starts a line

	mime    bool     // track MIME structure (for MIME/nested header checks and body checks)
	bounds  []string // open multipart boundaries, outermost first
	blockCT ctInfo   // what the current header block's Content-Type says
	bodyOff int64    // bytes of the current body part seen, for body_checks_size_limit
}

// readContent reads the content through br (which the caller reuses for
// the connection's messages) and writes the result. An error is a broken
// client connection: the message must be thrown away.
func (m *message) readContent(br *bufio.Reader) error {
	p := &parser{m: m, inHeader: true, class: classPrimary, primary: true, lineStart: true}
	p.lr.br = br
	p.mime = m.checks && !m.cfg.DisableMIME &&
		(m.cfg.MIMEHeaderChecks != nil || m.cfg.NestedHeaderChecks != nil || m.cfg.BodyChecks != nil)
	for {
		if !p.inHeader && p.lineStart && !p.slowBody() {
			return p.copyRest()
		}
		piece, complete, err := p.lr.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		n := int64(len(piece))
		if complete {
			n++
		}
		if p.count(n) {
			continue
		}
		if p.inHeader {
			p.headerPiece(piece, complete)
		} else {
			p.bodyPiece(piece, complete)
		}
		p.lineStart = complete
	}
	p.end()
	return nil
}

// count adds n bytes to the message size and reports whether the message
// is too big (the rest is then only read).
func (p *parser) count(n int64) bool {
	m := p.m
	m.size += n
	limit := m.cfg.MessageSizeLimit
	if m.local() {
		// postdrop already held the message to the limit; pickup's
		// Received: header must not push it over.
		limit += localSlack
	}
	if m.cfg.MessageSizeLimit > 0 && m.size > limit {
		m.tooBig = true
	}
	return m.tooBig
}

// localSlack is what a local submission may exceed message_size_limit
// by: the header pickup adds.
const localSlack = 4096

// slowBody reports whether body lines must be looked at one by one.
func (p *parser) slowBody() bool {
	m := p.m
	if m.dropping() {
		return false
	}
	return m.checks && (p.mime || m.cfg.BodyChecks != nil)
}

// headerPiece handles a piece of a line in a header block.
func (p *parser) headerPiece(piece []byte, complete bool) {
	if !p.lineStart {
		p.appendHeader(piece)
		return
	}
	if len(piece) > 0 && (piece[0] == ' ' || piece[0] == '\t') && len(p.hdr) > 0 {
		p.appendHeader([]byte{'\n'})
		p.appendHeader(piece)
		return
	}
	p.flushHeader()
	switch {
	case len(piece) == 0 && complete:
		p.endHeaders(true)
	case header.IsStart(piece):
		p.appendHeader(piece)
	default:
		p.endHeaders(false)
		p.bodyPiece(piece, complete)
	}
}

// appendHeader adds text to the header being collected; what goes past
// header_size_limit is dropped, as Postfix does.
func (p *parser) appendHeader(b []byte) {
	room := p.m.cfg.HeaderSizeLimit - len(p.hdr)
	if p.m.cfg.HeaderSizeLimit <= 0 {
		room = len(b)
	}
	if room <= 0 {
		return
	}
	if len(b) > room {
		b = b[:room]
	}
	p.hdr = append(p.hdr, b...)
}

// flushHeader processes the header collected so far.
func (p *parser) flushHeader() {
	if len(p.hdr) == 0 {
		return
	}
	h := p.hdr
	p.hdr = p.hdr[:0]
	p.header(h)
}

// endHeaders ends a header block: at a blank line (blank) or at a line
// that is not a header, which becomes the first body line.
func (p *parser) endHeaders(blank bool) {
	m := p.m
	if p.primary {
		p.primary = false
		m.headersDone()
	}
	next := p.blockCT
	p.blockCT = ctInfo{}
	p.inHeader = false
	p.bodyOff = 0
	if blank {
		m.write(newline)
	}
	if !p.mime {
		return
	}
	switch {
	case next.multipart && next.boundary != "":
		if len(p.bounds) < m.cfg.MIMENestingLimit || m.cfg.MIMENestingLimit <= 0 {
			p.bounds = append(p.bounds, next.boundary)
		}
	case next.message && blank:
		p.inHeader, p.class = true, classNested
	}
}

var newline = []byte{'\n'}

// bodyPiece handles a piece of a body line.
func (p *parser) bodyPiece(piece []byte, complete bool) {
	m := p.m
	if p.lineStart && len(p.bounds) > 0 && bytes.HasPrefix(piece, []byte("--")) && p.boundary(piece) {
		m.write(piece)
		if complete {
			m.write(newline)
		}
		return
	}
	n := int64(len(piece))
	if m.checks && m.cfg.BodyChecks != nil && (m.cfg.BodyChecksSizeLimit <= 0 || p.bodyOff < m.cfg.BodyChecksSizeLimit) {
		p.checkBody(piece, complete)
	} else {
		m.write(piece)
		if complete {
			m.write(newline)
		}
	}
	if complete {
		n++
	}
	p.bodyOff += n
}

// checkBody runs body_checks over a line in pieces of at most
// line_length_limit bytes, as Postfix's records are.
func (p *parser) checkBody(piece []byte, complete bool) {
	m := p.m
	limit := m.cfg.LineLengthLimit
	if limit <= 0 {
		limit = len(piece) + 1
	}
	for {
		chunk := piece
		last := true
		if len(chunk) > limit {
			chunk, last = chunk[:limit], false
		}
		piece = piece[len(chunk):]
		out, keep := chunk, true
		if m.checks && m.cfg.BodyChecks != nil {
			out, keep = m.check(m.cfg.BodyChecks, "body_checks", "body", chunk)
		}
		if keep {
			m.write(out)
			if last && complete {
				m.write(newline)
			}
		}
		if last {
			return
		}
	}
}

// boundary handles a line that may be a MIME boundary; it reports
// whether it was one.
func (p *parser) boundary(line []byte) bool {
	line = bytes.TrimRight(line, " \t")
	for i := len(p.bounds) - 1; i >= 0; i-- {
		b := p.bounds[i]
		if len(line) < 2+len(b) || string(line[2:2+len(b)]) != b {
			continue
		}
		switch rest := line[2+len(b):]; {
		case len(rest) == 0:
			p.bounds = p.bounds[:i+1]
			p.inHeader, p.class, p.blockCT = true, classMultipart, ctInfo{}
			return true
		case string(rest) == "--":
			p.bounds = p.bounds[:i]
			p.bodyOff = 0
			return true
		}
	}
	return false
}

// end finishes the content at the end of the stream.
func (p *parser) end() {
	m := p.m
	if p.inHeader {
		p.flushHeader()
		if p.primary {
			p.primary = false
			m.headersDone()
		}
	} else if !p.lineStart {
		m.write(newline)
	}
	m.writeEnvelope()
}

// copyRest copies the rest of the body in bulk, turning CRLF into LF. It
// works in the reader's own buffer: no copy but the one into the queue
// file's.
func (p *parser) copyRest() error {
	m := p.m
	br := p.lr.br
	pendingCR := false
	last := byte('\n')
	out := func(b []byte) {
		if len(b) > 0 {
			m.write(b)
			last = b[len(b)-1]
		}
	}
	for {
		n := br.Buffered()
		if n == 0 {
			if _, err := br.Peek(1); err != nil {
				if err != io.EOF {
					return err
				}
				if pendingCR {
					out([]byte{'\r'})
				}
				if last != '\n' {
					out(newline)
				}
				m.writeEnvelope()
				return nil
			}
			n = br.Buffered()
		}
		chunk, _ := br.Peek(n)
		if !p.count(int64(n)) && !m.dropping() {
			if pendingCR {
				pendingCR = false
				if chunk[0] != '\n' {
					out([]byte{'\r'})
				}
			}
			if chunk[len(chunk)-1] == '\r' {
				pendingCR = true
				chunk = chunk[:len(chunk)-1]
			}
			// CRLF to LF in place: these bytes are consumed below.
			w, rest := 0, chunk
			for {
				i := bytes.Index(rest, crlf)
				if i < 0 {
					w += copy(chunk[w:], rest)
					break
				}
				w += copy(chunk[w:], rest[:i])
				chunk[w] = '\n'
				w++
				rest = rest[i+2:]
			}
			out(chunk[:w])
		}
		br.Discard(n) //nolint:errcheck // n bytes are buffered
	}
}

var crlf = []byte("\r\n")
