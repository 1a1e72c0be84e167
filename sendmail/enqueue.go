package sendmail

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"strings"
	"syscall"

	"github.com/postern-mta/postern/internal/header"
	"github.com/postern-mta/postern/internal/proto"
)

// maxRcptPerArg bounds the addresses taken from one argument or header.
const maxRcptPerArg = 10000

// enqueue submits the message on in through postdrop.
func (s *session) enqueue(in io.Reader) error {
	o, cfg := s.o, s.cfg
	name, uid := loginName()
	var sender string
	if o.sender != nil {
		addrs := addresses(*o.sender, 2)
		if len(addrs) > 0 {
			sender = addrs[0]
		}
		if len(addrs) > 1 {
			fmt.Fprintf(os.Stderr, "%s: warning: -f option specified malformed sender: %s\n", s.prog, *o.sender)
		}
	} else {
		if name == "" {
			return fatalf("no login name found for user ID %d", uid)
		}
		sender = name
	}
	who := fmt.Sprintf("%s(%d)", sender, uid)
	if ok, _ := submitAllowed(cfg.SubmitUsers, name); !ok {
		return fatalf("User %s(%d) is not allowed to submit mail", name, uid)
	}
	if o.verpAsked {
		if o.verp == "" {
			o.verp = cfg.VERPDelimiters
		}
		if !validVERP(o.verp, cfg.VERPFilter) {
			return fatalf("-V requires two characters from %s", cfg.VERPFilter)
		}
		if sender == "" {
			return fatalf("%s: -V option requires non-null sender address", who)
		}
	}
	open := &proto.CleanupOpen{
		Source:   "sendmail",
		Sender:   sender,
		FullName: fullName(o, name),
		DSNRet:   o.ret,
		DSNEnvID: o.envid,
		Attrs:    []proto.Attr{{Name: proto.AttrRewriteContext, Value: o.rwContext}},
	}
	for _, arg := range o.recipients {
		for _, a := range addresses(arg, maxRcptPerArg) {
			if a != "" {
				open.Recipients = append(open.Recipients, proto.Rcpt{Addr: a, Notify: o.notify})
			}
		}
	}
	if !o.extract && len(open.Recipients) == 0 {
		return fatalf("Recipient addresses must be specified on the command line or via the -t option")
	}
	if o.extract {
		open.Flags |= proto.CleanupExtractRcpt
		if o.notify != "" {
			open.Attrs = append(open.Attrs, proto.Attr{Name: proto.AttrDSNNotify, Value: o.notify})
		}
	}
	if o.verify {
		open.Flags |= proto.CleanupVerify
	}
	if o.trace() {
		open.Flags |= proto.CleanupTrace
	}
	if o.encoding != "" {
		open.Attrs = append(open.Attrs, proto.Attr{Name: proto.AttrEncoding, Value: o.encoding})
	}
	if o.verpAsked {
		open.Attrs = append(open.Attrs, proto.Attr{Name: proto.AttrVERP, Value: o.verp})
	}

	pd, err := s.startPostdrop(who)
	if err != nil {
		return err
	}
	ctx := context.Background()
	sub, err := pd.client.Open(ctx, open)
	if err != nil {
		pd.wait()
		return fatalf("%s: queue file write error", who)
	}
	bw := bufio.NewWriterSize(sub, 64<<10)
	if o.verify {
		writeProbe(bw, sender, o.recipients)
	} else {
		in := newInput(in, cfg, o.dotEnd, o.extract)
		if err := in.copy(bw); err != nil {
			pd.abort()
			if errors.Is(err, errTooBig) {
				return fatalf("%s: message file too big", who)
			}
			return fatalf("%s: error reading input: %v", who, err)
		}
		if o.extract && len(open.Recipients)+in.headerRcpts() == 0 {
			pd.abort()
			return fatalf("%s: No recipient addresses found in message header", who)
		}
	}
	if err := bw.Flush(); err != nil {
		pd.wait()
		return fatalf("%s: queue file write error", who)
	}
	_, err = sub.Finish(ctx)
	if werr := pd.wait(); err == nil && werr != nil {
		err = werr
	}
	if err != nil {
		return fatalf("%s: queue file write error", who)
	}
	if o.verify || o.trace() {
		fmt.Printf("Mail Delivery Status Report will be mailed to <%s>.\n", sender)
	}
	return nil
}

// fullName is the sender's full name: -F, else $NAME, else the
// password file's GECOS field ("&" is the capitalized login name).
func fullName(o *options, login string) string {
	if o.fullName != nil {
		return *o.fullName
	}
	if n := os.Getenv("NAME"); n != "" {
		return n
	}
	u, err := user.LookupId(strconv.Itoa(os.Getuid()))
	if err != nil {
		return ""
	}
	g, _, _ := strings.Cut(u.Name, ",")
	if strings.Contains(g, "&") && login != "" {
		g = strings.ReplaceAll(g, "&", strings.ToUpper(login[:1])+login[1:])
	}
	return g
}

// validVERP checks -XV delimiters: two characters from
// verp_delimiter_filter.
func validVERP(d, filter string) bool {
	return len(d) == 2 && strings.IndexByte(filter, d[0]) >= 0 && strings.IndexByte(filter, d[1]) >= 0
}

// writeProbe is the message of sendmail -bv: no content from the user.
func writeProbe(w io.Writer, sender string, rcpts []string) {
	if sender != "" {
		fmt.Fprintf(w, "From: %s\n", sender)
	}
	fmt.Fprintf(w, "Subject: probe\n")
	if len(rcpts) > 0 {
		io.WriteString(w, "To:") //nolint:errcheck // buffered
		for i, r := range rcpts {
			sep := ","
			if i == len(rcpts)-1 {
				sep = ""
			}
			fmt.Fprintf(w, "\t%s%s\n", r, sep)
		}
	}
}

// postdrop is the running postdrop command.
type postdrop struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	client *proto.CleanupClient
	prog   string
}

func (s *session) startPostdrop(who string) (*postdrop, error) {
	path := s.command("postdrop")
	args := []string{"-r"}
	if s.cfg.ConfigDirExplicit {
		args = append(args, "-c", s.cfg.Dir)
	}
	cmd := exec.Command(path, args...)
	cmd.Env = s.childEnv()
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fatalf("%s: unable to execute %s: %v", who, path, err)
	}
	return &postdrop{cmd: cmd, stdin: stdin, client: proto.NewCleanupClient(proto.NewStreamConn(stdout, stdin)), prog: path}, nil
}

// abort stops postdrop before the end of the message: it removes its
// unfinished file.
func (p *postdrop) abort() {
	// The signal, not the end of its input, must stop it: an input that
	// ends without the end frame makes it complain.
	p.cmd.Process.Signal(syscall.SIGTERM) //nolint:errcheck // it may be gone already
	p.cmd.Wait()                          //nolint:errcheck // we are failing anyway
	p.stdin.Close()
}

// wait closes postdrop's input and waits for it to exit.
func (p *postdrop) wait() error {
	p.stdin.Close()
	if err := p.cmd.Wait(); err != nil {
		return fmt.Errorf("%s: %w", p.prog, err)
	}
	return nil
}

var errTooBig = errors.New("message file too big")

// input reads the message sendmail is given: leading "From " lines are
// skipped, a lone "." may end it, CR before LF goes as
// sendmail_fix_line_endings says, and with -t the recipient headers are
// counted so that a message without any can be refused at once.
type input struct {
	br       *bufio.Reader
	cfg      *Config
	dotEnd   bool
	extract  bool
	stripCR  int // 1 strip, 0 keep, -1 decide on the first line
	size     int64
	inHeader bool
	hdr      []byte
	normal   int // addresses in To:, Cc:, Bcc:
	resent   int // addresses in Resent-To:, Resent-Cc:, Resent-Bcc:
	sawRR    bool
}

func newInput(r io.Reader, cfg *Config, dotEnd, extract bool) *input {
	in := &input{br: bufio.NewReaderSize(r, 64<<10), cfg: cfg, dotEnd: dotEnd, extract: extract, inHeader: true}
	switch cfg.FixLineEndings {
	case "always":
		in.stripCR = 1
	case "strict":
		in.stripCR = -1
	}
	return in
}

// headerRcpts is how many recipients -t found in the header.
func (in *input) headerRcpts() int {
	if in.sawRR {
		return in.resent
	}
	return in.normal
}

// copy copies the message to w.
func (in *input) copy(w io.Writer) error {
	skipFrom := true
	lineStart := true
	for {
		piece, err := in.br.ReadSlice('\n')
		complete := err == nil
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) && err != io.EOF {
			return err
		}
		if len(piece) == 0 && err == io.EOF {
			if !lineStart {
				return in.write(w, []byte{'\n'})
			}
			in.endHeader()
			return nil
		}
		line := piece
		if complete {
			line = piece[:len(piece)-1]
		}
		if lineStart && (complete || err == io.EOF) {
			if skipFrom && bytes.HasPrefix(bytes.TrimLeft(line, ">"), []byte("From ")) {
				continue
			}
			if in.stripCR < 0 {
				in.stripCR = 0
				if bytes.HasSuffix(line, []byte{'\r'}) {
					in.stripCR = 1
				}
			}
			if in.stripCR == 1 {
				line = bytes.TrimRight(line, "\r")
			}
			if in.dotEnd && len(line) == 1 && line[0] == '.' {
				in.endHeader()
				return nil
			}
		}
		skipFrom = false
		if in.extract {
			in.track(line, lineStart, complete)
		}
		if err := in.write(w, line); err != nil {
			return err
		}
		if complete {
			if err := in.write(w, []byte{'\n'}); err != nil {
				return err
			}
		}
		lineStart = complete
		if err == io.EOF {
			if !complete {
				if err := in.write(w, []byte{'\n'}); err != nil {
					return err
				}
			}
			in.endHeader()
			return nil
		}
	}
}

func (in *input) write(w io.Writer, b []byte) error {
	in.size += int64(len(b))
	if in.cfg.MessageSizeLimit > 0 && in.size > in.cfg.MessageSizeLimit {
		return errTooBig
	}
	_, err := w.Write(b)
	return err
}

// track follows the primary header for -t.
func (in *input) track(line []byte, lineStart, complete bool) {
	if !in.inHeader {
		return
	}
	switch {
	case !lineStart:
		in.addHeader(line)
	case len(line) > 0 && (line[0] == ' ' || line[0] == '\t') && len(in.hdr) > 0:
		in.addHeader([]byte{'\n'})
		in.addHeader(line)
	default:
		in.endHeader()
		if len(line) == 0 && complete || !header.IsStart(line) {
			in.inHeader = false
			return
		}
		in.addHeader(line)
	}
}

func (in *input) addHeader(b []byte) {
	if room := in.cfg.HeaderSizeLimit - len(in.hdr); in.cfg.HeaderSizeLimit > 0 && len(b) > room {
		b = b[:max(room, 0)]
	}
	in.hdr = append(in.hdr, b...)
}

// endHeader counts the recipients of the header just read.
func (in *input) endHeader() {
	h := in.hdr
	in.hdr = in.hdr[:0]
	if len(h) == 0 {
		return
	}
	name, value, ok := strings.Cut(string(h), ":")
	if !ok {
		return
	}
	n := 0
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "to", "cc", "bcc":
		for _, a := range addresses(value, maxRcptPerArg) {
			if a != "" {
				n++
			}
		}
		in.normal += n
	case "resent-to", "resent-cc", "resent-bcc":
		in.sawRR = true
		for _, a := range addresses(value, maxRcptPerArg) {
			if a != "" {
				n++
			}
		}
		in.resent += n
	}
}
