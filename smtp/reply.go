package smtp

import (
	"bufio"
	"errors"
	"fmt"
	"strings"

	"github.com/postern-mta/postern/internal/dsn"
)

// Limits on what a server may send in one reply. A longer line is cut (its
// rest is read and dropped), more lines are an error: a reply is a few
// lines, and an EHLO reply a few dozen.
const (
	maxReplyLine  = 2048
	maxReplyLines = 100
)

// errMalformed marks a reply that is not "DDD text" or "DDD-text".
var errMalformed = errors.New("malformed server reply")

// reply is one server reply.
type reply struct {
	code int
	// enh is the enhanced status code of the first line, or one derived
	// from the reply code ("5.0.0") when the server gave none.
	enh string
	// text is every line, with its code, joined by spaces: the form
	// Postfix logs after "said:" and puts in Diagnostic-Code.
	text string
	// lines are the texts after "DDD-" / "DDD " (for EHLO keywords).
	lines []string
}

// class is the first digit of the reply code.
func (r *reply) class() int { return r.code / 100 }

// message is the text of the lines without their enhanced codes, joined
// by spaces: the public text of a status.
func (r *reply) message() string {
	parts := make([]string, 0, len(r.lines))
	for _, l := range r.lines {
		if rest, ok := strings.CutPrefix(l, r.enh); ok && (rest == "" || rest[0] == ' ') {
			l = strings.TrimPrefix(rest, " ")
		}
		if l != "" {
			parts = append(parts, l)
		}
	}
	return strings.Join(parts, " ")
}

// status is the reply as a dsn.Status.
func (r *reply) status() *dsn.Status {
	return &dsn.Status{Code: r.code, Enhanced: r.enh, Text: r.message()}
}

// readReply reads one reply, single or multi-line.
func readReply(br *bufio.Reader) (*reply, error) {
	r := &reply{}
	var text strings.Builder
	for n := 0; ; n++ {
		if n == maxReplyLines {
			return nil, fmt.Errorf("%w: more than %d lines", errMalformed, maxReplyLines)
		}
		line, err := readLine(br)
		if err != nil {
			return nil, err
		}
		code, more, msg, ok := parseReplyLine(line)
		if !ok {
			return nil, fmt.Errorf("%w: %q", errMalformed, printable(line))
		}
		if n == 0 {
			r.code = code
		} else {
			text.WriteByte(' ')
		}
		text.WriteString(printable(line))
		r.lines = append(r.lines, printable(msg))
		if !more {
			break
		}
	}
	r.text = text.String()
	r.enh = replyEnhanced(r.code, r.lines[0])
	return r, nil
}

// readLine reads one line without its CRLF (or bare LF). A line longer
// than maxReplyLine is cut there and the rest of it skipped.
func readLine(br *bufio.Reader) (string, error) {
	var out []byte
	cut := false
	for {
		frag, err := br.ReadSlice('\n')
		if !cut {
			room := maxReplyLine - len(out)
			if len(frag) > room {
				out = append(out, frag[:room]...)
				cut = true
			} else {
				out = append(out, frag...)
			}
		}
		if err == nil {
			break
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		return "", err
	}
	s := string(out)
	s = strings.TrimSuffix(s, "\n")
	s = strings.TrimSuffix(s, "\r")
	return s, nil
}

// parseReplyLine splits "250-text" / "250 text" / "250".
func parseReplyLine(line string) (code int, more bool, msg string, ok bool) {
	if len(line) < 3 {
		return 0, false, "", false
	}
	for i := 0; i < 3; i++ {
		c := line[i]
		if c < '0' || c > '9' {
			return 0, false, "", false
		}
		code = code*10 + int(c-'0')
	}
	if code < 200 || code > 599 {
		return 0, false, "", false
	}
	if len(line) == 3 {
		return code, false, "", true
	}
	switch line[3] {
	case '-':
		return code, true, line[4:], true
	case ' ':
		return code, false, line[4:], true
	}
	return 0, false, "", false
}

// replyEnhanced finds the enhanced status code at the start of a reply's
// first line. One whose class differs from the reply code's is ignored, as
// is a missing one; the reply code's class then gives "X.0.0".
func replyEnhanced(code int, first string) string {
	word, _, _ := strings.Cut(first, " ")
	if dsn.IsEnhanced(word) && int(word[0]-'0') == code/100 {
		return word
	}
	return fmt.Sprintf("%d.0.0", code/100)
}

// printable replaces control characters and invalid bytes in server text
// with '?' so that nothing a server sends can break a log line or a
// report. Non-ASCII UTF-8 passes (SMTPUTF8 servers use it).
func printable(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] == 0x7f {
			clean = false
			break
		}
	}
	if clean {
		return strings.ToValidUTF8(s, "?")
	}
	b := []byte(s)
	for i, c := range b {
		if c < ' ' || c == 0x7f {
			b[i] = '?'
		}
	}
	return strings.ToValidUTF8(string(b), "?")
}
