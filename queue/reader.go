package queue

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
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

	r        io.ReaderAt // the file's bytes (f, or memory in tests)
	f        *os.File
	size     int64
	writable bool
}

// Open opens the queue file at path and reads its envelope (the records
// before and after the content) without reading the content. A malformed
// or incomplete file gives an error wrapping ErrCorrupt that names the
// file and the offset. With writable, MarkDone and SetFlags may be used.
func Open(path string, writable bool) (*File, error) {
	flag := os.O_RDONLY
	if writable {
		flag = os.O_RDWR
	}
	f, err := openPlain(path, flag)
	if err != nil {
		return nil, fmt.Errorf("open queue file: %w", err)
	}
	qf, err := load(f, path)
	if err != nil {
		f.Close()
		return nil, err
	}
	qf.f, qf.writable = f, writable
	return qf, nil
}

// ReadEnvelope reads the envelope of the queue file at path and the size
// of its message, for listings; it is Open and Close in one.
func ReadEnvelope(path string) (*Envelope, int64, error) {
	f, err := openPlain(path, os.O_RDONLY)
	if err != nil {
		return nil, 0, fmt.Errorf("open queue file: %w", err)
	}
	defer f.Close()
	qf, err := load(f, path)
	if err != nil {
		return nil, 0, err
	}
	return &qf.Envelope, qf.ContentLen, nil
}

func load(f *os.File, path string) (*File, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("stat queue file %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("queue file %s: not a regular file", path)
	}
	return decode(f, fi.Size(), path)
}

// decode reads the envelope of a queue file from r.
func decode(r io.ReaderAt, size int64, path string) (*File, error) {
	bp := readBufs.Get().(*[]byte)
	defer readBufs.Put(bp)
	d := envelopeDecoder{path: path}
	si, err := scan(r, size, path, *bp, d.record)
	if err != nil {
		return nil, err
	}
	return &File{
		Path:          path,
		ID:            filepath.Base(path),
		Envelope:      d.env,
		ContentOffset: si.contentOff,
		ContentLen:    si.contentLen,
		r:             r,
		size:          size,
	}, nil
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
	var recs []Record
	_, err := scan(f.r, f.size, f.Path, make([]byte, readBufSize), func(r Record) error {
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
	if _, err := f.f.WriteAt([]byte{byte(RecDone)}, r.Offset); err != nil {
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
	if _, err := f.f.WriteAt([]byte(field), flagsOffset); err != nil {
		return fmt.Errorf("set flags of queue file %s: %w", f.Path, err)
	}
	f.Envelope.Flags = flags
	return nil
}

// Close closes the file.
func (f *File) Close() error {
	if f.f == nil {
		return nil
	}
	if err := f.f.Close(); err != nil {
		return fmt.Errorf("close queue file %s: %w", f.Path, err)
	}
	return nil
}

// openPlain opens a regular file with one system call. os.OpenFile also
// tries to register the descriptor with the network poller and toggles its
// blocking mode, four more system calls that a queue file, read with
// pread, never needs; on the hot path (qmgr and every agent open each
// message) they add up.
func openPlain(path string, flag int) (*os.File, error) {
	for {
		fd, err := syscall.Open(path, flag|syscall.O_CLOEXEC, 0)
		if err == nil {
			return os.NewFile(uintptr(fd), path), nil
		}
		if err != syscall.EINTR {
			return nil, &os.PathError{Op: "open", Path: path, Err: err}
		}
	}
}
