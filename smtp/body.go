package smtp

import (
	"bufio"
	"bytes"
	"io"
)

// bodyWriter turns queue file content (LF line ends) into the text of an
// SMTP DATA command: CRLF line ends, a dot doubled at the start of a line
// (RFC 5321 4.5.2), and, when limit > 0, lines longer than limit broken
// with CRLF and a space as Postfix's smtp_line_length_limit does. Every
// other byte, 8-bit ones included, goes out unchanged.
type bodyWriter struct {
	w       *bufio.Writer
	limit   int
	lineLen int  // bytes of the current line written so far
	start   bool // at the start of a line
	cr      bool // the last byte written was a CR from the content
}

func newBodyWriter(w *bufio.Writer, limit int) *bodyWriter {
	return &bodyWriter{w: w, limit: lineLimit(limit), start: true}
}

// lineLimit is the line length limit in effect: a broken line starts with
// a space, so a limit under 2 could not carry anything else.
func lineLimit(limit int) int {
	if limit > 0 && limit < 2 {
		return 2
	}
	return limit
}

// Write writes content. It never fails on its own; write errors come from
// the connection.
func (b *bodyWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		seg := p
		if i >= 0 {
			seg = p[:i]
		}
		if err := b.text(seg); err != nil {
			return n - len(p), err
		}
		if i < 0 {
			break
		}
		if err := b.newline(); err != nil {
			return n - len(p), err
		}
		p = p[i+1:]
	}
	return n, nil
}

// text writes part of a line.
func (b *bodyWriter) text(seg []byte) error {
	for len(seg) > 0 {
		if b.start && seg[0] == '.' {
			if err := b.w.WriteByte('.'); err != nil {
				return err
			}
		}
		b.start = false
		k := len(seg)
		if b.limit > 0 {
			if b.lineLen >= b.limit {
				// More of a line that is already at the limit: break it.
				if _, err := b.w.WriteString("\r\n "); err != nil {
					return err
				}
				b.lineLen = 1
			}
			k = min(k, b.limit-b.lineLen)
		}
		if _, err := b.w.Write(seg[:k]); err != nil {
			return err
		}
		b.lineLen += k
		b.cr = seg[k-1] == '\r'
		seg = seg[k:]
	}
	return nil
}

// newline ends a line. A CR just before the LF (content that already had
// CRLF) is not doubled.
func (b *bodyWriter) newline() error {
	var err error
	if b.cr {
		err = b.w.WriteByte('\n')
	} else {
		_, err = b.w.WriteString("\r\n")
	}
	b.start, b.lineLen, b.cr = true, 0, false
	return err
}

// finish ends the last line if the content did not, and writes the
// terminating ".".
func (b *bodyWriter) finish() error {
	if !b.start {
		if err := b.newline(); err != nil {
			return err
		}
	}
	_, err := b.w.WriteString(".\r\n")
	return err
}

// copyBody writes the content read from r as DATA text, up to the final
// dot. buf is a scratch buffer.
func copyBody(w *bufio.Writer, r io.Reader, limit int, buf []byte) error {
	bw := newBodyWriter(w, limit)
	if _, err := io.CopyBuffer(bw, r, buf); err != nil {
		return err
	}
	return bw.finish()
}
