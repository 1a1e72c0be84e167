package queue

import (
	"io"
	"os"
	"runtime"
	"sync"

	"golang.org/x/sys/unix"
)

// Queue files are used through plain descriptors, not os.File. Every
// daemon on a message's path opens its queue file (cleanup creates it,
// qmgr and the delivery agent read it), and os.File costs system calls a
// queue file never needs: os.OpenFile and os.NewFile ask for the
// descriptor's flags (fcntl F_GETFL) to decide whether to use the network
// poller. Here an open is one openat, a read one pread, a close one close.

// fdFile is an open queue file. Like os.File it is safe against use after
// Close (an error, never a read or write on a descriptor number reused by
// another file) and against Close during a read or write, and a
// descriptor dropped without Close is closed once the fdFile is garbage;
// whoever reads through it (a Content reader) keeps it alive.
type fdFile struct {
	mu      sync.RWMutex // read-held by every use of fd, held by Close
	fd      int          // -1 once closed
	cleanup runtime.Cleanup
}

func newFDFile(fd int) *fdFile {
	f := &fdFile{fd: fd}
	f.cleanup = runtime.AddCleanup(f, func(fd int) { unix.Close(fd) }, fd)
	return f
}

// openFD opens path with one system call (O_CLOEXEC added), retrying on
// EINTR. Errors are *os.PathError, as from os.OpenFile.
func openFD(path string, flag int, mode uint32) (*fdFile, error) {
	for {
		fd, err := unix.Open(path, flag|unix.O_CLOEXEC, mode)
		if err == nil {
			return newFDFile(fd), nil
		}
		if err != unix.EINTR {
			return nil, &os.PathError{Op: "open", Path: path, Err: err}
		}
	}
}

// pread reads into p at off with one read: for a regular file, fewer
// bytes than len(p) means the end of the file.
func (f *fdFile) pread(p []byte, off int64) (int, error) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	if f.fd < 0 {
		return 0, os.ErrClosed
	}
	return pread(f.fd, p, off)
}

func pread(fd int, p []byte, off int64) (int, error) {
	for {
		n, err := unix.Pread(fd, p, off)
		if err != unix.EINTR {
			return max(n, 0), err
		}
	}
}

// ReadAt is io.ReaderAt: it reads until p is full or the file ends.
func (f *fdFile) ReadAt(p []byte, off int64) (int, error) {
	n := 0
	for n < len(p) {
		k, err := f.pread(p[n:], off+int64(n))
		n += k
		if err != nil {
			return n, err
		}
		if k == 0 {
			return n, io.EOF
		}
	}
	return n, nil
}

// WriteAt writes all of p at off.
func (f *fdFile) WriteAt(p []byte, off int64) (int, error) {
	return f.write(p, off)
}

// Write writes all of p at the file's offset.
func (f *fdFile) Write(p []byte) (int, error) {
	return f.write(p, -1)
}

// write writes p at off, or at the file's offset when off is -1.
func (f *fdFile) write(p []byte, off int64) (int, error) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	if f.fd < 0 {
		return 0, os.ErrClosed
	}
	n := 0
	for n < len(p) {
		var k int
		var err error
		if off < 0 {
			k, err = unix.Write(f.fd, p[n:])
		} else {
			k, err = unix.Pwrite(f.fd, p[n:], off+int64(n))
		}
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			return n, err
		case k <= 0:
			return n, io.ErrShortWrite
		}
		n += k
	}
	return n, nil
}

// sync flushes the file to the disk (fsync).
func (f *fdFile) sync() error { return f.do(fsync) }

func fsync(fd int) error {
	for {
		if err := unix.Fsync(fd); err != unix.EINTR {
			return err
		}
	}
}

// do runs fn with the descriptor, for the rare calls with no method here.
func (f *fdFile) do(fn func(fd int) error) error {
	f.mu.RLock()
	defer f.mu.RUnlock()
	if f.fd < 0 {
		return os.ErrClosed
	}
	return fn(f.fd)
}

// Close closes the descriptor; a second Close does nothing.
func (f *fdFile) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fd < 0 {
		return nil
	}
	f.cleanup.Stop()
	// Not retried on EINTR: on Linux the descriptor is gone either way.
	err := unix.Close(f.fd)
	f.fd = -1
	return err
}
