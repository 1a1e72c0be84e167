package queue

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"sync"

	"golang.org/x/sys/unix"
)

// readBufSize is the first read of a queue file: a small message is read
// whole with one system call, a large one with two (head and tail).
const readBufSize = 16 << 10

var readBufs = sync.Pool{New: func() any { b := make([]byte, readBufSize); return &b }}

// File is an open queue file whose envelope has been read.
type File struct {
	Path          string
	ID            string // the file's base name
	Envelope      Envelope
	ContentOffset int64 // where the content starts in the file
	ContentLen    int64 // content bytes

	r        io.ReaderAt // where Content reads: fd, or the file's bytes
	fd       *fdFile     // nil for a File decoded from memory (tests)
	writable bool
}

// Open opens the queue file at path and reads its envelope (the records
// before and after the content) without reading the content. A malformed
// or incomplete file gives an error wrapping ErrCorrupt that names the
// file and the offset. With writable, MarkDone and SetFlags may be used.
//
// A file opened read-only that fits in one read (16 KiB) is kept in
// memory, so that Content costs no more system calls; the file's content
// never changes once it is queued. Open costs one open and one read for
// such a file.
func Open(path string, writable bool) (*File, error) {
	flag := unix.O_RDONLY
	if writable {
		flag = unix.O_RDWR
	}
	fd, err := openQueueFile(path, flag)
	if err != nil {
		return nil, err
	}
	qf, err := decode(fd, path, !writable)
	if err != nil {
		fd.Close()
		return nil, err
	}
	qf.fd, qf.writable = fd, writable
	return qf, nil
}

// ReadEnvelope reads the envelope of the queue file at path and the size
// of its message, for listings; it is Open and Close in one.
func ReadEnvelope(path string) (*Envelope, int64, error) {
	fd, err := openQueueFile(path, unix.O_RDONLY)
	if err != nil {
		return nil, 0, err
	}
	defer fd.Close()
	qf, err := decode(fd, path, false)
	if err != nil {
		return nil, 0, err
	}
	return &qf.Envelope, qf.ContentLen, nil
}

// openQueueFile opens a queue file. O_NONBLOCK keeps a FIFO put in its
// place from blocking the open; reading anything but a regular file (a
// directory, a FIFO) then fails with an error that is not ErrCorrupt.
func openQueueFile(path string, flag int) (*fdFile, error) {
	fd, err := openFD(path, flag|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("open queue file: %w", err)
	}
	return fd, nil
}

// decode reads the envelope of a queue file from r. With keep, a file
// read whole is kept in memory for Content and Records.
func decode(r io.ReaderAt, path string, keep bool) (*File, error) {
	bp := readBufs.Get().(*[]byte)
	defer readBufs.Put(bp)
	d := envelopeDecoder{path: path}
	sc, err := scan(r, path, *bp, d.record)
	if err != nil {
		return nil, err
	}
	f := &File{
		Path:          path,
		ID:            filepath.Base(path),
		Envelope:      d.env,
		ContentOffset: sc.contentOff,
		ContentLen:    sc.contentLen,
		r:             r,
	}
	if keep && sc.whole >= 0 {
		f.r = bytes.NewReader(append([]byte(nil), (*bp)[:sc.whole]...))
	}
	return f, nil
}

// Content returns the message: headers and body, LF line ends.
func (f *File) Content() *io.SectionReader {
	return io.NewSectionReader(f.r, f.ContentOffset, f.ContentLen)
}

// Size is the message size as mailq shows it: the content's bytes.
func (f *File) Size() int64 { return f.ContentLen }

// Records returns every record of the file in file order (the content
// record without its data), for postcat. It reads the file again.
func (f *File) Records() ([]Record, error) {
	r := f.r
	if f.fd != nil {
		r = f.fd
	}
	var recs []Record
	_, err := scan(r, f.Path, make([]byte, readBufSize), func(r Record) error {
		if r.Data != nil {
			r.Data = append([]byte{}, r.Data...)
		}
		recs = append(recs, r)
		return nil
	})
	return recs, err
}

var errReadOnly = errors.New("not opened for writing")

// MarkDone marks recipient i done by rewriting its record's type byte in
// place. It does not fsync: a lost mark means a duplicate delivery after
// a crash, never a lost one.
func (f *File) MarkDone(i int) error {
	if i < 0 || i >= len(f.Envelope.Recipients) {
		return fmt.Errorf("mark recipient %d of queue file %s done: no such recipient", i, f.Path)
	}
	if !f.writable {
		return fmt.Errorf("mark recipient %d of queue file %s done: %w", i, f.Path, errReadOnly)
	}
	r := &f.Envelope.Recipients[i]
	if _, err := f.fd.WriteAt([]byte{byte(RecDone)}, r.Offset); err != nil {
		return fmt.Errorf("mark recipient %s of queue file %s done: %w", r.Addr, f.Path, err)
	}
	r.Done = true
	return nil
}

// SetFlags rewrites the file's flags (Flag*) in place, without fsync.
func (f *File) SetFlags(flags uint32) error {
	if !f.writable {
		return fmt.Errorf("set flags of queue file %s: %w", f.Path, errReadOnly)
	}
	field := fmt.Sprintf("%*s", sizeFieldWidth, strconv.FormatUint(uint64(flags), 10))
	if _, err := f.fd.WriteAt([]byte(field), flagsOffset); err != nil {
		return fmt.Errorf("set flags of queue file %s: %w", f.Path, err)
	}
	f.Envelope.Flags = flags
	return nil
}

// Close closes the file. Content readers made before keep working only
// for a file kept in memory (see Open).
func (f *File) Close() error {
	if f.fd == nil {
		return nil
	}
	if err := f.fd.Close(); err != nil {
		return fmt.Errorf("close queue file %s: %w", f.Path, err)
	}
	return nil
}
