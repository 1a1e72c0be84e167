package mailbox

import (
	"bufio"
	"io"
	"strings"
	"time"

	"github.com/postern-mta/postern/internal/addr"
)

// CopyOptions say how a message is written out for delivery: which
// envelope lines and headers go before it and how its lines are changed.
// The zero value copies the message as it is.
type CopyOptions struct {
	// FromLine writes "From SENDER  Sun Nov 22 11:07:19 2026" first (two
	// spaces, asctime form, local time), MAILER-DAEMON for the null sender.
	FromLine bool
	Time     time.Time // for the From_ line; zero means now
	// ReturnPath writes "Return-Path: <SENDER>".
	ReturnPath bool
	Sender     string
	// OrigRcpt, when not empty, writes "X-Original-To: ORIGRCPT".
	OrigRcpt string
	// DeliveredTo, when not empty, writes "Delivered-To: ADDR" (lower case).
	DeliveredTo string
	// QuoteFrom puts '>' before every line that starts with "From ".
	QuoteFrom bool
	// DotStuff puts '.' before every line that starts with '.'.
	DotStuff bool
	// BlankLine appends an empty line (mbox separator).
	BlankLine bool
	// EOL ends every line; "" means "\n".
	EOL string
}

// Mbox is the layout of a Unix mailbox: From_ line, Return-Path,
// X-Original-To and Delivered-To, ">From " quoting and a blank line at the
// end.
func Mbox(sender, origRcpt, deliveredTo string, t time.Time) CopyOptions {
	return CopyOptions{FromLine: true, Time: t, ReturnPath: true, Sender: sender,
		OrigRcpt: origRcpt, DeliveredTo: deliveredTo, QuoteFrom: true, BlankLine: true}
}

// Maildir is the layout of a Maildir file: Return-Path, X-Original-To and
// Delivered-To before the message, which is otherwise unchanged.
func Maildir(sender, origRcpt, deliveredTo string) CopyOptions {
	return CopyOptions{ReturnPath: true, Sender: sender, OrigRcpt: origRcpt, DeliveredTo: deliveredTo}
}

// MailerDaemon stands for the null sender in a From_ line.
const MailerDaemon = "MAILER-DAEMON"

// Head returns what goes before the message.
func (o *CopyOptions) Head() string {
	eol := o.eol()
	var b strings.Builder
	if o.FromLine {
		s := quoteAddr(o.Sender)
		if s == "" {
			s = MailerDaemon
		}
		t := o.Time
		if t.IsZero() {
			t = time.Now()
		}
		b.WriteString("From " + s + "  " + t.Local().Format(time.ANSIC) + eol)
	}
	if o.ReturnPath {
		b.WriteString("Return-Path: <" + quoteAddr(o.Sender) + ">" + eol)
	}
	if o.OrigRcpt != "" {
		b.WriteString("X-Original-To: " + quoteAddr(o.OrigRcpt) + eol)
	}
	if o.DeliveredTo != "" {
		b.WriteString("Delivered-To: " + strings.ToLower(quoteAddr(o.DeliveredTo)) + eol)
	}
	return b.String()
}

func (o *CopyOptions) eol() string {
	if o.EOL == "" {
		return "\n"
	}
	return o.EOL
}

// quoteAddr quotes the local part of an address where RFC 5322 needs it.
func quoteAddr(a string) string {
	if a == "" {
		return ""
	}
	local, domain := addr.Split(a)
	return addr.Join(addr.QuoteLocal(addr.UnquoteLocal(local)), domain)
}

// Copy writes the message in src to dst as o says and returns the bytes
// written. The last line always ends with an end of line, even when the
// message did not.
func Copy(dst io.Writer, src io.Reader, o CopyOptions) (int64, error) {
	w := &countWriter{w: dst}
	if _, err := io.WriteString(w, o.Head()); err != nil {
		return w.n, err
	}
	eol := o.eol()
	if !o.QuoteFrom && !o.DotStuff && eol == "\n" {
		// The common Maildir case: the content goes through as it is.
		if _, err := io.Copy(w, src); err != nil {
			return w.n, err
		}
		if w.n > 0 && w.last != '\n' {
			if _, err := io.WriteString(w, eol); err != nil {
				return w.n, err
			}
		}
	} else if err := copyLines(w, src, &o, eol); err != nil {
		return w.n, err
	}
	if o.BlankLine {
		if _, err := io.WriteString(w, eol); err != nil {
			return w.n, err
		}
	}
	return w.n, nil
}

// copyLines copies line by line, quoting and converting line ends.
func copyLines(w io.Writer, src io.Reader, o *CopyOptions, eol string) error {
	br := bufio.NewReaderSize(src, 64<<10)
	bol := true // at the beginning of a line
	for {
		chunk, err := br.ReadSlice('\n')
		if len(chunk) > 0 {
			if bol {
				switch {
				case o.QuoteFrom && hasPrefix(chunk, br, "From "):
					if _, err := io.WriteString(w, ">"); err != nil {
						return err
					}
				case o.DotStuff && chunk[0] == '.':
					if _, err := io.WriteString(w, "."); err != nil {
						return err
					}
				}
			}
			line := chunk
			ends := line[len(line)-1] == '\n'
			if ends {
				line = line[:len(line)-1]
			}
			if _, err := w.Write(line); err != nil {
				return err
			}
			if ends {
				if _, err := io.WriteString(w, eol); err != nil {
					return err
				}
			}
			bol = ends
		}
		switch err {
		case nil, bufio.ErrBufferFull:
			continue
		case io.EOF:
			if !bol {
				_, err := io.WriteString(w, eol)
				return err
			}
			return nil
		default:
			return err
		}
	}
}

// hasPrefix reports whether a line starts with p, looking past the chunk
// into the reader's buffer when the chunk is shorter than p.
func hasPrefix(chunk []byte, br *bufio.Reader, p string) bool {
	if len(chunk) >= len(p) {
		return string(chunk[:len(p)]) == p
	}
	if chunk[len(chunk)-1] == '\n' {
		return false
	}
	more, _ := br.Peek(len(p) - len(chunk))
	return string(chunk)+string(more) == p
}

// countWriter counts bytes and remembers the last one.
type countWriter struct {
	w    io.Writer
	n    int64
	last byte
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	if n > 0 {
		c.last = p[n-1]
	}
	return n, err
}
