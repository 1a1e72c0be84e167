package load

import (
	"bufio"
	"fmt"
	"net"
	"strconv"
	"time"
)

// The load client: a lean SMTP client in the spirit of Postfix's
// smtp-source. The benchmarks share two processors with the instance they
// measure, so every cycle the client spends is taken from Postern. This
// one speaks the same dialogue as go-smtp's client (EHLO once, then MAIL,
// RCPT, DATA, each awaiting its reply: no pipelining, so Postern does the
// same work), but writes a message in one system call from a buffer it
// reuses, where go-smtp's client dot-stuffs byte by byte through two
// writers and allocates for each reply.

// loadClient is one SMTP session.
type loadClient struct {
	conn net.Conn
	r    *bufio.Reader
	buf  []byte // the message being sent, reused
}

// clientTimeout bounds each command's write and reply.
const clientTimeout = 30 * time.Second

// dialLoad connects, reads the greeting and says EHLO.
func dialLoad(addr string) (*loadClient, error) {
	conn, err := net.DialTimeout("tcp", addr, clientTimeout)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", addr, err)
	}
	c := &loadClient{conn: conn, r: bufio.NewReaderSize(conn, 4096)}
	if err := c.expect(220, "greeting"); err != nil {
		conn.Close()
		return nil, err
	}
	if err := c.command("EHLO client.test\r\n", 250); err != nil {
		conn.Close()
		return nil, err
	}
	return c, nil
}

// command sends one command and checks its reply's code.
func (c *loadClient) command(cmd string, code int) error {
	c.conn.SetDeadline(time.Now().Add(clientTimeout))
	if _, err := c.conn.Write([]byte(cmd)); err != nil {
		return fmt.Errorf("send %q: %w", cmd, err)
	}
	return c.expect(code, cmd)
}

// expect reads a reply (all its lines) and checks its code.
func (c *loadClient) expect(code int, what string) error {
	for {
		line, err := c.r.ReadSlice('\n')
		if err != nil {
			return fmt.Errorf("reply to %q: %w", what, err)
		}
		if len(line) < 4 {
			return fmt.Errorf("reply to %q: short line %q", what, line)
		}
		got, err := strconv.Atoi(string(line[:3]))
		if err != nil || got != code {
			return fmt.Errorf("reply to %q: %q, want %d", what, line, code)
		}
		if line[3] == ' ' {
			return nil
		}
	}
}

// send sends message i and returns the time from the end of DATA (the
// final dot written) to the 250 reply.
func (c *loadClient) send(i int) (time.Duration, error) {
	if err := c.command("MAIL FROM:<load@client.test>\r\n", 250); err != nil {
		return 0, err
	}
	if err := c.command("RCPT TO:<sink@remote.test>\r\n", 250); err != nil {
		return 0, err
	}
	if err := c.command("DATA\r\n", 354); err != nil {
		return 0, err
	}
	// message never has a line that starts with a dot: nothing to stuff.
	c.buf = append(appendMessage(c.buf[:0], i), ".\r\n"...)
	c.conn.SetDeadline(time.Now().Add(clientTimeout))
	if _, err := c.conn.Write(c.buf); err != nil {
		return 0, fmt.Errorf("send message %d: %w", i, err)
	}
	start := time.Now()
	if err := c.expect(250, "end of DATA"); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

// close says QUIT and hangs up.
func (c *loadClient) close() {
	c.command("QUIT\r\n", 221) //nolint:errcheck // hanging up anyway
	c.conn.Close()
}
