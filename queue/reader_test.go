package queue

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// countingReader counts the reads of a file held in memory.
type countingReader struct {
	data  []byte
	reads int
}

func (c *countingReader) ReadAt(p []byte, off int64) (int, error) {
	c.reads++
	return bytes.NewReader(c.data).ReadAt(p, off)
}

// A queue file is read in as few reads as its size allows, never its
// content: one for a file that fits the first read, head and tail for a
// larger one, and more only for a head or a tail larger than that.
func TestReadsPerFile(t *testing.T) {
	manyRcpts := make([]Recipient, 2000)
	for i := range manyRcpts {
		manyRcpts[i] = Recipient{Addr: fmt.Sprintf("rcpt%d@remote.test", i)}
	}
	cases := []struct {
		name    string
		env     *Envelope
		content string
		reads   int
	}{
		{"4 KB message", &Envelope{Sender: "a@b.test", Recipients: []Recipient{{Addr: "c@d.test"}}}, string(message4K), 1},
		{"1 MB message", &Envelope{Sender: "a@b.test", Recipients: []Recipient{{Addr: "c@d.test"}}}, strings.Repeat("x", 1<<20), 2},
		// A tail of ~48 KB: read into 16, 32 and 64 KB buffers.
		{"2000 recipients", &Envelope{Sender: "a@b.test", Recipients: manyRcpts}, "Subject: x\n\nbody\n", 1 + 3},
		// The first read, the rest of the head, the tail.
		{"large head", &Envelope{Sender: "a@b.test", Attrs: []Attr{{"big", strings.Repeat("y", 40<<10)}}, Recipients: []Recipient{{Addr: "c@d.test"}}}, "Subject: x\n\nbody\n", 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l := newLayout(t)
			_, path := writeMessage(t, l, Incoming, tc.env, tc.content)
			data := readFile(t, path)
			r := &countingReader{data: data}
			f, err := decode(r, path, true)
			if err != nil {
				t.Fatal(err)
			}
			if r.reads != tc.reads {
				t.Errorf("%d reads, want %d", r.reads, tc.reads)
			}
			if len(f.Envelope.Recipients) != len(tc.env.Recipients) || f.ContentLen != int64(len(tc.content)) {
				t.Errorf("%d recipients, %d content bytes; want %d, %d", len(f.Envelope.Recipients), f.ContentLen, len(tc.env.Recipients), len(tc.content))
			}
			got, err := io.ReadAll(f.Content())
			if err != nil || string(got) != tc.content {
				t.Errorf("content differs (err %v)", err)
			}
		})
	}
}

// The records read do not depend on how much each read asks for.
func TestScanBufferSizes(t *testing.T) {
	l := newLayout(t)
	_, path := writeMessage(t, l, Incoming, sampleEnvelope(), sampleContent, Recipient{Addr: "late@x", Done: true})
	data := readFile(t, path)
	want := records(t, data, readBufSize)
	for size := sizeRecLen; size < len(data)+2; size++ {
		if got := records(t, data, size); !reflect.DeepEqual(got, want) {
			t.Fatalf("buffer of %d bytes: records differ:\n%v\nwant\n%v", size, got, want)
		}
	}
	// Every truncation is corrupt, whatever the buffer.
	for _, size := range []int{sizeRecLen, 100, 333} {
		for n := 0; n < len(data); n++ {
			_, err := scan(bytes.NewReader(data[:n]), "F", make([]byte, size), func(Record) error { return nil })
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("buffer %d, prefix of %d bytes: err = %v, want ErrCorrupt", size, n, err)
			}
		}
	}
}

func records(t *testing.T, data []byte, bufSize int) []Record {
	t.Helper()
	var recs []Record
	_, err := scan(bytes.NewReader(data), "F", make([]byte, bufSize), func(r Record) error {
		r.Data = bytes.Clone(r.Data)
		recs = append(recs, r)
		return nil
	})
	if err != nil {
		t.Fatalf("buffer of %d bytes: %v", bufSize, err)
	}
	return recs
}

// halfReader returns at most half of what is asked, without an error, as
// a read cut short by an I/O error or a network file system may.
type halfReader struct{ data []byte }

func (h halfReader) ReadAt(p []byte, off int64) (int, error) {
	if off >= int64(len(h.data)) {
		return 0, io.EOF
	}
	rest := h.data[off:]
	return copy(p, rest[:max(min(len(p), len(rest))/2, 1)]), nil
}

// A read cut short is not taken for the end of the file: the file is not
// called corrupt (which would move it to corrupt/) but unreadable now.
func TestShortReadIsNotCorruption(t *testing.T) {
	l := newLayout(t)
	_, path := writeMessage(t, l, Incoming, sampleEnvelope(), sampleContent)
	_, err := decode(halfReader{readFile(t, path)}, path, false)
	if err == nil || errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "short read") {
		t.Errorf("err = %v, want a short read that is not ErrCorrupt", err)
	}
}

// A file opened read-only that fits one read is kept in memory: reading
// its content costs no more system calls. A writable one is not (qmgr
// keeps thousands open).
func TestOpenKeepsSmallFiles(t *testing.T) {
	l := newLayout(t)
	_, path := writeMessage(t, l, Incoming, sampleEnvelope(), sampleContent)
	for _, writable := range []bool{false, true} {
		f, err := Open(path, writable)
		if err != nil {
			t.Fatal(err)
		}
		_, kept := f.r.(*bytes.Reader)
		if kept == writable {
			t.Errorf("writable=%v: kept in memory: %v", writable, kept)
		}
		got, err := io.ReadAll(f.Content())
		if err != nil || string(got) != sampleContent {
			t.Errorf("writable=%v: content %q, %v", writable, got, err)
		}
		recs, err := f.Records()
		if err != nil || len(recs) == 0 || recs[len(recs)-1].Type != RecEnd {
			t.Errorf("writable=%v: Records: %d records, %v", writable, len(recs), err)
		}
		f.Close()
	}
}

// After Close nothing touches the descriptor (whose number another file
// may have by then): every use is an error.
func TestUseAfterClose(t *testing.T) {
	l := newLayout(t)
	_, path := writeMessage(t, l, Incoming, sampleEnvelope(), strings.Repeat("x", 2*readBufSize))
	f, err := Open(path, true)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := f.MarkDone(0); !errors.Is(err, os.ErrClosed) {
		t.Errorf("MarkDone after Close: %v", err)
	}
	if err := f.SetFlags(0); !errors.Is(err, os.ErrClosed) {
		t.Errorf("SetFlags after Close: %v", err)
	}
	if _, err := io.ReadAll(f.Content()); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Content after Close: %v", err)
	}
	if before := readFile(t, path); !bytes.Equal(before, readFile(t, path)) {
		t.Error("file changed")
	}
}

// Close waits for reads under way instead of closing under them.
func TestCloseDuringReads(t *testing.T) {
	l := newLayout(t)
	content := strings.Repeat("0123456789", 10000)
	_, path := writeMessage(t, l, Incoming, sampleEnvelope(), content)
	f, err := Open(path, true)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			b, err := io.ReadAll(f.Content())
			if err == nil && string(b) != content || err != nil && !errors.Is(err, os.ErrClosed) {
				t.Errorf("read %d bytes, err %v", len(b), err)
			}
		})
	}
	f.Close()
	wg.Wait()
}

// What is not a regular file is not read, and not called corrupt; a FIFO
// does not block the open.
func TestOpenNotRegular(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{fifo, dir} {
		done := make(chan error, 1)
		go func() {
			_, err := Open(path, false)
			done <- err
		}()
		select {
		case err := <-done:
			if err == nil || errors.Is(err, ErrCorrupt) {
				t.Errorf("Open(%s) = %v, want an error other than ErrCorrupt", path, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("Open(%s) blocks", path)
		}
	}
}

// Move never replaces a file of the same ID in the target queue.
func TestMoveNeverReplaces(t *testing.T) {
	l := newLayout(t)
	id, path := writeMessage(t, l, Incoming, sampleEnvelope(), sampleContent)
	other := []byte("another file of the same ID")
	if err := os.WriteFile(l.Path(Active, id), other, 0o600); err != nil {
		t.Fatal(err)
	}
	err := l.Move(id, Incoming, Active)
	if !errors.Is(err, fs.ErrExist) {
		t.Fatalf("Move onto an existing file: %v, want fs.ErrExist", err)
	}
	if !bytes.Equal(readFile(t, l.Path(Active, id)), other) || len(readFile(t, path)) == 0 {
		t.Error("a file changed")
	}
	if err := l.Move(id, Incoming, Deferred); err != nil {
		t.Fatal(err)
	}
	if q, _, err := l.Find(id, Incoming, Deferred); err != nil || q != Deferred {
		t.Errorf("Find = %q, %v; want deferred", q, err)
	}
}

// Where renameat2 is refused, Move renames the old way.
func TestMovePlainRename(t *testing.T) {
	l := newLayout(t)
	l.plainRename.Store(true)
	id, _ := writeMessage(t, l, Incoming, sampleEnvelope(), sampleContent)
	if err := l.Move(id, Incoming, Deferred); err != nil {
		t.Fatal(err)
	}
	if err := l.Move(id, Incoming, Deferred); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("second Move: %v, want fs.ErrNotExist", err)
	}
	if _, err := Open(l.Path(Deferred, id), false); err != nil {
		t.Error(err)
	}
}
