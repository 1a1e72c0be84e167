package postcat

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"time"

	"github.com/postern-mta/postern/internal/header"
	"github.com/postern-mta/postern/queue"
)

// options choose what postcat prints. With none of Envelope, Header and
// Body set, it prints all three.
type options struct {
	Envelope bool           // -e: envelope records and section markers
	Header   bool           // -h: message header lines
	Body     bool           // -b: message body
	Offsets  bool           // -o: file offset before each line
	Decimal  bool           // -d: record type in decimal before each record
	Location *time.Location // for times; nil means local time
}

func (o options) all() options {
	if !o.Envelope && !o.Header && !o.Body {
		o.Envelope, o.Header, o.Body = true, true, true
	}
	if o.Location == nil {
		o.Location = time.Local
	}
	return o
}

// asctime is the layout of C's asctime(3), which Postfix's postcat uses.
const asctime = "Mon Jan _2 15:04:05 2006"

// searchQueues are where postcat -q looks, in order: Postfix's list.
var searchQueues = append(append([]string{}, queue.MessageQueues...), queue.Saved)

// catQueue prints the messages with the given IDs, wherever they are in
// the queue tree l. Each is named by its path under the queue directory
// ("deferred/8/ID").
func catQueue(w io.Writer, l *queue.Layout, ids []string, opt options) error {
	for _, id := range ids {
		if !queue.ValidID(id) {
			return fmt.Errorf("bad mail queue ID: %s", id)
		}
		_, path, err := l.Find(id, searchQueues...)
		if errors.Is(err, fs.ErrNotExist) {
			// It may have moved between two queues while we looked.
			_, path, err = l.Find(id, searchQueues...)
		}
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("open queue file %s: no such file in the queue", id)
		}
		if err != nil {
			return err
		}
		name, err := filepath.Rel(l.Root, path)
		if err != nil {
			name = path
		}
		if err := catFile(w, path, name, opt); err != nil {
			return err
		}
	}
	return nil
}

// catFiles prints the queue files at the given paths.
func catFiles(w io.Writer, paths []string, opt options) error {
	for _, p := range paths {
		if err := catFile(w, p, p, opt); err != nil {
			return err
		}
	}
	return nil
}

func catFile(w io.Writer, path, name string, opt options) error {
	f, err := queue.Open(path, false)
	if err != nil {
		return err
	}
	defer f.Close()
	bw := bufio.NewWriter(w)
	if err := cat(bw, f, name, opt.all()); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	return nil
}

// cat prints one queue file, modelled on Postfix's postcat: the envelope
// records (the recipients, which follow the content in the file, among
// them), the content, then the markers of the extracted section and the
// end of the file.
func cat(w *bufio.Writer, f *queue.File, name string, opt options) error {
	recs, err := f.Records()
	if err != nil {
		return err
	}
	var content, end queue.Record
	prefix := func(off int64, t queue.RecordType, known bool) {
		switch {
		case opt.Offsets && known:
			fmt.Fprintf(w, "%9d ", off)
		case opt.Offsets:
			fmt.Fprintf(w, "%9s ", "")
		}
		switch {
		case opt.Decimal && known:
			fmt.Fprintf(w, "%3d ", t)
		case opt.Decimal:
			fmt.Fprintf(w, "%3s ", "")
		}
	}
	marker := func(r queue.Record, known bool, text string) {
		if opt.Envelope {
			prefix(r.Offset, r.Type, known)
			fmt.Fprintf(w, "*** %s %s ***\n", text, name)
		}
	}

	if opt.Envelope {
		fmt.Fprintf(w, "*** ENVELOPE RECORDS %s ***\n", name)
	}
	for _, r := range recs {
		switch r.Type {
		case queue.RecContent:
			content = r
			continue
		case queue.RecEnd:
			end = r
			continue
		}
		if !opt.Envelope {
			continue
		}
		prefix(r.Offset, r.Type, true)
		fmt.Fprintln(w, r.Format(opt.Location))
		if r.Type == queue.RecTime {
			// Postfix keeps the creation time in an attribute; here
			// the queue ID has it.
			if t, ok := queue.IDTime(f.ID); ok {
				prefix(0, 0, false)
				fmt.Fprintf(w, "create_time: %s\n", t.In(opt.Location).Format(asctime))
			}
		}
	}
	marker(content, true, "MESSAGE CONTENTS")
	if opt.Header || opt.Body {
		if err := catContent(w, f, opt); err != nil {
			return err
		}
	}
	marker(queue.Record{Offset: f.ContentOffset + f.ContentLen}, false, "HEADER EXTRACTED")
	marker(end, true, "MESSAGE FILE END")
	return nil
}

// catContent prints the header lines (-h) and the body (-b), which starts
// at the first line that is neither a header nor a continuation line: the
// empty line after the headers belongs to the body, as in Postfix.
func catContent(w *bufio.Writer, f *queue.File, opt options) error {
	r := bufio.NewReaderSize(f.Content(), 64<<10)
	off := f.ContentOffset
	inHeader, lineStart, open := true, true, false
	for {
		chunk, err := r.ReadSlice('\n')
		if len(chunk) > 0 {
			if lineStart && inHeader && !isHeaderLine(chunk) {
				inHeader = false
			}
			if inHeader && opt.Header || !inHeader && opt.Body {
				if lineStart && opt.Offsets {
					fmt.Fprintf(w, "%9d ", off)
				}
				w.Write(chunk)
				open = chunk[len(chunk)-1] != '\n'
			}
			lineStart = chunk[len(chunk)-1] == '\n'
			off += int64(len(chunk))
		}
		switch err {
		case nil, bufio.ErrBufferFull:
			continue
		case io.EOF:
			if open { // a last line without its newline
				w.WriteByte('\n')
			}
			return nil
		default:
			return fmt.Errorf("read queue file %s: %w", f.Path, err)
		}
	}
}

// isHeaderLine reports whether line is a header field ("Name:" with
// optional blanks before the colon) or the continuation of one.
func isHeaderLine(line []byte) bool {
	return header.IsContinuation(line) || header.IsStart(line)
}
