package queue

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the fuzz seed corpus in testdata")

// FuzzOpen feeds arbitrary bytes to the queue file reader: it must return
// an envelope or an ErrCorrupt error, never panic or allocate without
// bound.
func FuzzOpen(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		qf, err := decode(bytes.NewReader(data), "fuzz", len(data)%2 == 0)
		// Reading in small pieces finds the same records.
		small, errSmall := scanAll(data, sizeRecLen+len(data)%100)
		if (err == nil) != (errSmall == nil) {
			t.Fatalf("decode: %v; with a small buffer: %v", err, errSmall)
		}
		if err != nil {
			if !errors.Is(err, ErrCorrupt) || !errors.Is(errSmall, ErrCorrupt) {
				t.Fatalf("error without ErrCorrupt: %v; %v", err, errSmall)
			}
			return
		}
		if big, _ := scanAll(data, readBufSize); !reflect.DeepEqual(small, big) {
			t.Fatalf("records differ with a small buffer")
		}
		if qf.ContentOffset+qf.ContentLen > int64(len(data)) {
			t.Fatalf("content %d+%d beyond %d bytes", qf.ContentOffset, qf.ContentLen, len(data))
		}
		if _, err := io.Copy(io.Discard, qf.Content()); err != nil {
			t.Fatal(err)
		}
		recs, err := qf.Records()
		if err != nil {
			t.Fatalf("Records after a good decode: %v", err)
		}
		for _, r := range recs {
			_ = r.String()
		}
		for _, r := range qf.Envelope.Recipients {
			if b := data[r.Offset]; b != byte(RecRcpt) && b != byte(RecDone) {
				t.Fatalf("recipient offset %d points at %q", r.Offset, b)
			}
		}
	})
}

// scanAll decodes data as decode does, reading bufSize bytes at a time,
// and returns its records.
func scanAll(data []byte, bufSize int) ([]Record, error) {
	var recs []Record
	d := envelopeDecoder{path: "fuzz"}
	_, err := scan(bytes.NewReader(data), "fuzz", make([]byte, bufSize), func(r Record) error {
		if err := d.record(r); err != nil {
			return err
		}
		r.Data = bytes.Clone(r.Data)
		recs = append(recs, r)
		return nil
	})
	return recs, err
}

// TestFuzzSeeds rewrites the seed corpus with -update: valid files, every
// kind of truncation, and garbage.
func TestFuzzSeeds(t *testing.T) {
	if !*update {
		t.Skip("run with -update to rewrite testdata/fuzz/FuzzOpen")
	}
	l := newLayout(t)
	_, path := writeMessage(t, l, Incoming, sampleEnvelope(), sampleContent, Recipient{Addr: "late@x", Done: true})
	full := readFile(t, path)
	_, path = writeMessage(t, l, Incoming, &Envelope{}, "", Recipient{Addr: "r"})
	minimal := readFile(t, path)
	qf, err := decode(bytes.NewReader(full), "seed", false)
	if err != nil {
		t.Fatal(err)
	}
	seeds := map[string][]byte{
		"valid":            full,
		"valid-minimal":    minimal,
		"truncated-size":   full[:40],
		"truncated-head":   full[:qf.ContentOffset-3],
		"truncated-body":   full[:qf.ContentOffset+10],
		"truncated-rcpt":   full[:qf.ContentOffset+qf.ContentLen+5],
		"truncated-no-end": full[:len(full)-2],
		"garbage":          []byte("From alice@x Sun Nov 22 11:07:19 2026\nSubject: not a queue file\n"),
		"empty":            {},
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzOpen")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range seeds {
		text := fmt.Sprintf("go test fuzz v1\n[]byte(%s)\n", strconv.Quote(string(data)))
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
