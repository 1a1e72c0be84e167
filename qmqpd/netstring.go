package qmqpd

import (
	"bufio"
	"errors"
	"fmt"
	"io"
)

// Netstrings (http://cr.yp.to/proto/netstrings.txt): "12:hello world!,".

// Netstring errors, as Postfix names them in its replies.
var (
	errFormat = errors.New("netstring format error")
	errSize   = errors.New("netstring length exceeds storage limit")
)

// nsReader reads netstrings from a client.
type nsReader struct {
	r *bufio.Reader
}

// length reads "N:" and returns N, refusing more than max.
func (n *nsReader) length(max int64) (int64, error) {
	var v int64
	digits := 0
	for {
		c, err := n.r.ReadByte()
		if err != nil {
			return 0, err
		}
		switch {
		case c >= '0' && c <= '9':
			digits++
			if digits > 12 {
				return 0, errFormat
			}
			v = v*10 + int64(c-'0')
		case c == ':' && digits > 0:
			if v > max {
				return 0, errSize
			}
			return v, nil
		default:
			return 0, errFormat
		}
	}
}

// get reads one whole netstring of at most max bytes.
func (n *nsReader) get(max int64) ([]byte, error) {
	size, err := n.length(max)
	if err != nil {
		return nil, err
	}
	buf := make([]byte, size)
	if _, err := io.ReadFull(n.r, buf); err != nil {
		return nil, unexpected(err)
	}
	if err := n.comma(); err != nil {
		return nil, err
	}
	return buf, nil
}

// comma reads the terminator.
func (n *nsReader) comma() error {
	c, err := n.r.ReadByte()
	if err != nil {
		return unexpected(err)
	}
	if c != ',' {
		return errFormat
	}
	return nil
}

func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// appendNetstring appends s as a netstring.
func appendNetstring(b []byte, s string) []byte {
	b = fmt.Appendf(b, "%d:", len(s))
	b = append(b, s...)
	return append(b, ',')
}

// request is one QMQP request.
type request struct {
	message []byte
	sender  string
	rcpts   []string
}

// limits bound what a client may send.
type limits struct {
	message int64 // message_size_limit (0: no limit, still capped)
	line    int64 // line_length_limit: sender and each recipient
	rcpts   int   // most recipients
}

// stage names what was being read, for error replies.
type stage struct{ where string }

// readRequest reads the outer netstring and its parts. st.where tells
// what was being read when an error came.
func readRequest(n *nsReader, lim limits, st *stage) (*request, error) {
	st.where = "receiving QMQP packet header"
	if _, err := n.length(1 << 40); err != nil {
		return nil, err
	}
	st.where = "receiving message content"
	maxMsg := lim.message
	if maxMsg <= 0 {
		maxMsg = 1 << 31
	}
	msg, err := n.get(maxMsg)
	if err != nil {
		return nil, err
	}
	st.where = "receiving sender address"
	sender, err := n.get(lim.line)
	if err != nil {
		return nil, err
	}
	req := &request{message: msg, sender: string(sender)}
	st.where = "receiving recipient address"
	for {
		c, err := n.r.ReadByte()
		if err != nil {
			return nil, unexpected(err)
		}
		if c == ',' {
			break
		}
		if err := n.r.UnreadByte(); err != nil {
			return nil, err
		}
		if len(req.rcpts) >= lim.rcpts {
			return nil, errSize
		}
		r, err := n.get(lim.line)
		if err != nil {
			return nil, err
		}
		req.rcpts = append(req.rcpts, string(r))
	}
	return req, nil
}
