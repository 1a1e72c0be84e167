package privexec

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"syscall"
	"time"
)

// OpReadFile is the built-in op that reads a small file with the helper's
// rights: ~/.forward files and :include: files are read as their user.
const OpReadFile = "readfile"

// ReadFileParams are the parameters of OpReadFile.
type ReadFileParams struct {
	Path  string `json:"path"`
	Limit int64  `json:"limit"` // the most bytes read; a longer file is an error
}

// FileData is what OpReadFile returns in Result.Data.
type FileData struct {
	Content []byte      `json:"content"`
	Mode    os.FileMode `json:"mode"`
	UID     int         `json:"uid"`
}

// MaxReadFile bounds ReadFileParams.Limit.
const MaxReadFile = 16 << 20

func init() { Register(OpReadFile, readFileOp) }

func readFileOp(_ context.Context, params json.RawMessage, _ io.Reader) Result {
	var p ReadFileParams
	if err := json.Unmarshal(params, &p); err != nil {
		return Fail("4.3.0", "readfile: bad parameters: %v", err)
	}
	if p.Limit <= 0 || p.Limit > MaxReadFile {
		p.Limit = MaxReadFile
	}
	f, err := os.OpenFile(p.Path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return Fail("4.3.0", "open %s: %v", p.Path, unwrapPath(err))
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return Fail("4.3.0", "stat %s: %v", p.Path, unwrapPath(err))
	}
	if !fi.Mode().IsRegular() {
		return Fail("5.3.5", "%s is not a regular file", p.Path)
	}
	data, err := io.ReadAll(io.LimitReader(f, p.Limit+1))
	if err != nil {
		return Fail("4.3.0", "read %s: %v", p.Path, unwrapPath(err))
	}
	if int64(len(data)) > p.Limit {
		return Fail("5.3.4", "%s is longer than %d bytes", p.Path, p.Limit)
	}
	out := FileData{Content: data, Mode: fi.Mode()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		out.UID = int(st.Uid)
	}
	b, err := json.Marshal(out)
	if err != nil {
		return Fail("4.3.0", "encode %s: %v", p.Path, err)
	}
	res := OK("read %s", p.Path)
	res.Data = b
	return res
}

// ReadFile reads path with cred's rights through r, at most limit bytes.
// A *dsn.Status error reports what the file system said; another error
// means the helper could not run.
func (r *Runner) ReadFile(ctx context.Context, cred *Cred, path string, limit int64, timeout time.Duration) (*FileData, error) {
	res, err := r.Do(ctx, cred, OpReadFile, ReadFileParams{Path: path, Limit: limit}, nil, timeout)
	if err != nil {
		return nil, err
	}
	if !res.Status.Success() {
		return nil, res.Status
	}
	var fd FileData
	if err := json.Unmarshal(res.Data, &fd); err != nil {
		return nil, fmt.Errorf("readfile %s: bad result: %w", path, err)
	}
	return &fd, nil
}

// unwrapPath drops the "open PATH:" part of an *os.PathError, for messages
// that name the path themselves.
func unwrapPath(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}
