package cleanup

import (
	"bufio"
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/postern-mta/postern/internal/maillog"
	"github.com/postern-mta/postern/internal/proto"
	"github.com/postern-mta/postern/queue"
)

// recorder is a sink that keeps what it is given.
type recorder struct {
	env   *queue.Envelope
	buf   bytes.Buffer
	rcpts []queue.Recipient
}

func (r *recorder) SetEnvelope(e *queue.Envelope) {
	if r.env != nil {
		panic("envelope set twice")
	}
	r.env = e
}

func (r *recorder) Write(p []byte) (int, error) {
	if r.env == nil {
		panic("content before the envelope")
	}
	return r.buf.Write(p)
}

func (r *recorder) AddRecipient(rc queue.Recipient) { r.rcpts = append(r.rcpts, rc) }

// process runs content through a message without a queue or a socket,
// reading it with a bufio.Reader of size bufSize.
func process(t testing.TB, c *Cleanup, o *proto.CleanupOpen, content []byte, bufSize int) (*recorder, *message) {
	return processWith(t, c, o, content, bufio.NewReaderSize(bytes.NewReader(content), bufSize))
}

// processWith is process with a reader to reuse (Reset to the content).
func processWith(t testing.TB, c *Cleanup, o *proto.CleanupOpen, content []byte, br *bufio.Reader) (*recorder, *message) {
	br.Reset(bytes.NewReader(content))
	m := newMessage(context.Background(), c, o)
	rec := &recorder{}
	m.id, m.out = "4jXRDB400qz1SCHg", rec
	m.prepare()
	if err := m.readContent(br); err != nil {
		t.Fatalf("readContent: %v", err)
	}
	m.finishRecipients()
	return rec, m
}

func fuzzCleanup(t testing.TB) *Cleanup {
	cfg := testConfig(t.TempDir())
	cfg.HeaderSizeLimit = 300
	cfg.LineLengthLimit = 40
	cfg.MIMENestingLimit = 3
	cfg.HeaderChecks = table(t, "regexp", "/^Subject: .*reject/ REJECT\n/^X-Replace: (.*)/ REPLACE X-Replaced: $1\n/^X-Prepend/ PREPEND X-Before: 1\n/^X-Ignore/ IGNORE\n/^X-Hold/ HOLD\n")
	cfg.MIMEHeaderChecks = table(t, "regexp", "/^Content-Type:.*evil/ REJECT\n/^Content-/ WARN\n")
	cfg.NestedHeaderChecks = cfg.HeaderChecks
	cfg.BodyChecks = table(t, "regexp", "/^body-reject/ REJECT\n/^body-replace/ REPLACE new\n/^body-ignore/ IGNORE\n")
	cfg.Canonical = table(t, "inline", "{a=b@x.test, @c.test=@d.test}")
	cfg.VirtualAlias = table(t, "inline", "{{v@x.test=w@x.test, v@x.test}, loop@x.test=loop2@x.test, loop2@x.test=loop@x.test}")
	return New(cfg, maillog.New(&bytes.Buffer{}, "postern", "cleanup", 0))
}

// FuzzContent feeds any bytes through the header parser, the MIME
// tracker, the checks and the header address rewriting: nothing may
// panic, the envelope comes before the content, and the output has LF
// line ends only where the input had line ends.
func FuzzContent(f *testing.F) {
	for _, s := range []string{
		"Subject: x\n\nbody\n",
		"From: a\r\nTo: b, \"c d\" <e>, team: f, g;\r\nBcc: h\r\n\r\nbody\r\n",
		"Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: message/rfc822\n\nSubject: in\n\nx\n--b--\n",
		"X-Replace: 1\nX-Prepend: 2\nX-Ignore: 3\n folded\n\nbody-replace\nbody-ignore\nbody-reject\n",
		"Received: x\nResent-To: <@a,@b:c@d>\nTo: (comment\n\n",
		" leading space\nSubject: y",
		"\r",
		"Subject: " + strings.Repeat("z", 400) + "\n",
	} {
		f.Add([]byte(s), uint8(0))
	}
	c := fuzzCleanup(f)
	f.Fuzz(func(t *testing.T, data []byte, mode uint8) {
		o := smtpOpen("127.0.0.1", "a@c.test", "v@x.test")
		if mode&1 != 0 {
			o = localOpen("a", "loop@x.test")
			o.Flags |= proto.CleanupExtractRcpt
		}
		bufSize := 16 + int(mode>>1)
		rec, _ := process(t, c, o, data, bufSize)
		if rec.env == nil {
			t.Fatal("no envelope written")
		}
	})
}

// Line pieces come out the same whatever the read buffer size.
func TestLineReaderPieces(t *testing.T) {
	in := "short\r\n" + strings.Repeat("L", 50) + "\r\nmid\rline\n\r\r\nlast"
	want := "short\n" + strings.Repeat("L", 50) + "\nmid\rline\n\r\nlast"
	for size := 16; size <= 70; size++ {
		lr := lineReader{br: bufio.NewReaderSize(strings.NewReader(in), size)}
		var b strings.Builder
		for {
			p, complete, err := lr.next()
			if err != nil {
				break
			}
			if len(p) == 0 && !complete {
				t.Fatalf("size %d: empty incomplete piece", size)
			}
			b.Write(p)
			if complete {
				b.WriteByte('\n')
			}
		}
		if b.String() != want {
			t.Errorf("size %d: got %q, want %q", size, b.String(), want)
		}
	}
}

// The bulk copy turns CRLF into LF across read boundaries and ends the
// message with a line end.
func TestBulkCopy(t *testing.T) {
	c := New(testConfig(t.TempDir()), maillog.Discard())
	body := strings.Repeat("0123456789abcdef\r\n", 5000) + "tail\r"
	rec, _ := process(t, c, smtpOpen("192.0.2.7", "a@b.test", "c@d.test"), []byte("Subject: x\r\n\r\n"+body), 4096)
	want := "Subject: x\n\n" + strings.Repeat("0123456789abcdef\n", 5000) + "tail\r\n"
	if rec.buf.String() != want {
		t.Errorf("bulk copy differs (len %d, want %d)", rec.buf.Len(), len(want))
	}
}
