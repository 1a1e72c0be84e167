package queue

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestRoundTrip(t *testing.T) {
	big := strings.Repeat("0123456789abcdef\xff", 200<<10/17)
	cases := []struct {
		name    string
		content string
		chunk   int // write in pieces of this size; 0 = one write
	}{
		{"empty", "", 0},
		{"small", sampleContent, 0},
		{"small in bytes", sampleContent, 1},
		{"exactly the buffer", strings.Repeat("x", writeBufSize), 0},
		{"large", big, 0},
		{"large in chunks", big, 4000},
		{"large in buffer-sized chunks", big, writeBufSize},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l := newLayout(t)
			env := sampleEnvelope()
			late := Recipient{Addr: "dave@remote.test", Orig: "list@mx.example.test", Done: true}
			w, err := l.NewWriter(Incoming)
			if err != nil {
				t.Fatal(err)
			}
			defer w.Abort()
			w.SetEnvelope(env)
			for rest := tc.content; rest != ""; {
				n := len(rest)
				if tc.chunk > 0 {
					n = min(n, tc.chunk)
				}
				if _, err := io.WriteString(w, rest[:n]); err != nil {
					t.Fatal(err)
				}
				rest = rest[n:]
			}
			w.AddRecipient(late)
			if got := w.Size(); got != int64(len(tc.content)) {
				t.Errorf("Size() = %d, want %d", got, len(tc.content))
			}
			if err := w.Commit(); err != nil {
				t.Fatal(err)
			}

			f, err := Open(l.Path(Incoming, w.ID()), false)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			want := *env
			want.Recipients = append(append([]Recipient{}, env.Recipients...), late)
			got := f.Envelope
			got.Arrival, got.WarnTime = got.Arrival.UTC(), got.WarnTime.UTC()
			for i := range got.Recipients {
				got.Recipients[i].Offset = 0
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("envelope:\n got %+v\nwant %+v", got, want)
			}
			content, err := io.ReadAll(f.Content())
			if err != nil {
				t.Fatal(err)
			}
			if string(content) != tc.content {
				t.Errorf("content differs: got %d bytes, want %d", len(content), len(tc.content))
			}
			if f.ID != w.ID() || f.Size() != int64(len(tc.content)) {
				t.Errorf("ID, Size = %s, %d; want %s, %d", f.ID, f.Size(), w.ID(), len(tc.content))
			}
			env2, size, err := ReadEnvelope(f.Path)
			if err != nil || size != int64(len(tc.content)) || len(env2.Recipients) != 3 || env2.Sender != env.Sender {
				t.Errorf("ReadEnvelope = %+v, %d, %v", env2, size, err)
			}
		})
	}
}

func TestZeroArrivalAndNullSender(t *testing.T) {
	l := newLayout(t)
	before := time.Now()
	_, path := writeMessage(t, l, Incoming, &Envelope{}, "x\n", Recipient{Addr: "bob@x"})
	env, _, err := ReadEnvelope(path)
	if err != nil {
		t.Fatal(err)
	}
	if env.Sender != "" || env.Arrival.Before(before.Truncate(time.Microsecond)) || env.Arrival.After(time.Now()) {
		t.Errorf("sender %q, arrival %v: want null sender, arrival now", env.Sender, env.Arrival)
	}
}

func TestMarkDoneInPlace(t *testing.T) {
	l := newLayout(t)
	_, path := writeMessage(t, l, Deferred, sampleEnvelope(), sampleContent)
	before := readFile(t, path)

	f, err := Open(path, true)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.MarkDone(1); err != nil {
		t.Fatal(err)
	}
	if !f.Envelope.Recipients[1].Done {
		t.Error("MarkDone did not update the envelope")
	}
	if err := f.MarkDone(2); err == nil {
		t.Error("MarkDone(2) of 2 recipients succeeded")
	}
	if err := f.SetFlags(FlagForcedExpire | FlagTrace); err != nil {
		t.Fatal(err)
	}
	f.Close()

	after := readFile(t, path)
	if len(after) != len(before) {
		t.Fatalf("file size changed from %d to %d", len(before), len(after))
	}
	var diff []int
	for i := range after {
		if after[i] != before[i] {
			diff = append(diff, i)
		}
	}
	// One byte for the recipient, one digit of the flags field (4 → 5).
	if len(diff) != 2 || after[diff[1]] != 'D' || before[diff[1]] != 'R' {
		t.Errorf("changed bytes at %v, want the flags digit and one R→D", diff)
	}

	env, _, err := ReadEnvelope(path)
	if err != nil {
		t.Fatal(err)
	}
	if env.Recipients[0].Done || !env.Recipients[1].Done {
		t.Errorf("done = %v, %v; want false, true", env.Recipients[0].Done, env.Recipients[1].Done)
	}
	if env.Flags != FlagForcedExpire|FlagTrace {
		t.Errorf("flags = %b", env.Flags)
	}

	ro, err := Open(path, false)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if err := ro.MarkDone(0); err == nil {
		t.Error("MarkDone on a read-only file succeeded")
	}
}

// Every proper prefix of a queue file, as a crash could leave it, is
// reported as corrupt with the file's name, never read as a message.
func TestTruncatedAtEveryOffset(t *testing.T) {
	l := newLayout(t)
	_, path := writeMessage(t, l, Incoming, sampleEnvelope(), sampleContent)
	data := readFile(t, path)
	for n := 0; n < len(data); n++ {
		_, err := decode(bytes.NewReader(data[:n]), "incoming/X", false)
		if !errors.Is(err, ErrCorrupt) || !strings.HasPrefix(err.Error(), "queue file incoming/X: ") {
			t.Fatalf("prefix of %d bytes: err = %v, want ErrCorrupt naming the file", n, err)
		}
	}
	// The usual case on disk: everything but the end record.
	cut := filepath.Join(t.TempDir(), "cut")
	if err := os.WriteFile(cut, data[:len(data)-2], 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Open(cut, false)
	if want := "queue file " + cut + ": truncated: no end record (offset "; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("Open(truncated) = %v, want %q…", err, want)
	}
}

func TestCorruptFiles(t *testing.T) {
	l := newLayout(t)
	_, path := writeMessage(t, l, Incoming, sampleEnvelope(), "Subject: x\n\nbody\n")
	good := readFile(t, path)
	f, err := Open(path, false)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	tailOff := int(f.ContentOffset + f.ContentLen)
	rcpt0 := int(f.Envelope.Recipients[0].Offset)

	edit := func(fn func(b []byte) []byte) []byte { return fn(append([]byte{}, good...)) }
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"garbage", []byte(strings.Repeat("garbage ", 20)), "not a queue file"},
		{"bad size field", edit(func(b []byte) []byte { b[5] = 'x'; return b }), "malformed size record"},
		{"data after end", append(append([]byte{}, good...), 'E', 0), "data after the end record"},
		{"content longer than the file", edit(func(b []byte) []byte { copy(b[2:17], "         999999"); return b }), "truncated: content ends"},
		{"recipient count", edit(func(b []byte) []byte { b[48] = '7'; return b }), "2 recipient records, the size record says 7"},
		{"recipient record before content", edit(func(b []byte) []byte { b[sizeRecLen] = 'R'; return b }), "recipient record before the content"},
		{"sender record after content", edit(func(b []byte) []byte { b[tailOff] = 'S'; return b }), "sender record after the content"},
		{"dangling original recipient", edit(func(b []byte) []byte {
			// Turn the last recipient record into an original
			// recipient record that belongs to nothing.
			last := bytes.LastIndexByte(b[:len(b)-2], byte(RecRcpt))
			b[last] = byte(RecOrig)
			copy(b[48:49], "1")
			return b
		}), "recipient attributes without a recipient"},
		{"bad arrival", edit(func(b []byte) []byte {
			i := bytes.IndexByte(b[sizeRecLen:], ' ') + sizeRecLen
			b[i] = 'x'
			return b
		}), "malformed time"},
		{"huge record length", edit(func(b []byte) []byte {
			b = append(b[:rcpt0+1:rcpt0+1], 0xff, 0xff, 0xff, 0x0f)
			return b
		}), "exceeds the limit"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := decode(bytes.NewReader(tc.data), "F", false)
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want ErrCorrupt with %q", err, tc.want)
			}
		})
	}
}

func TestWriterErrors(t *testing.T) {
	l := newLayout(t)
	countFiles := func() int {
		ents, err := os.ReadDir(l.Dir(Incoming))
		if err != nil {
			t.Fatal(err)
		}
		return len(ents)
	}

	w, err := l.NewWriter(Incoming)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("x")); err == nil {
		t.Error("Write before SetEnvelope succeeded")
	}
	if err := w.Commit(); err == nil {
		t.Error("Commit after a failed Write succeeded")
	}
	if n := countFiles(); n != 0 {
		t.Errorf("%d files left after a failed Commit", n)
	}

	w, err = l.NewWriter(Incoming)
	if err != nil {
		t.Fatal(err)
	}
	w.SetEnvelope(&Envelope{Attrs: []Attr{{"a=b", "c"}}})
	if err := w.Commit(); err == nil || !strings.Contains(err.Error(), `bad attribute name "a=b"`) {
		t.Errorf("Commit with a bad attribute: %v", err)
	}

	w, err = l.NewWriter(Incoming)
	if err != nil {
		t.Fatal(err)
	}
	w.SetEnvelope(&Envelope{})
	w.AddRecipient(Recipient{Addr: strings.Repeat("x", maxRecordLen+1)})
	if err := w.Commit(); err == nil || !strings.Contains(err.Error(), "exceeds the limit") {
		t.Errorf("Commit with a huge recipient: %v", err)
	}

	w, err = l.NewWriter(Incoming)
	if err != nil {
		t.Fatal(err)
	}
	w.SetEnvelope(&Envelope{})
	if err := w.Abort(); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(); err == nil {
		t.Error("Commit after Abort succeeded")
	}
	if n := countFiles(); n != 0 {
		t.Errorf("%d files left after Abort", n)
	}

	_, _ = writeMessage(t, l, Incoming, &Envelope{}, "x\n")
	if n := countFiles(); n != 1 {
		t.Errorf("%d files after one Commit", n)
	}
}

// Writers in parallel get distinct, valid IDs that sort by creation time.
func TestConcurrentWritersUniqueIDs(t *testing.T) {
	const writers, each = 8, 500
	n := each
	if testing.Short() {
		n = 50
	}
	l := newLayout(t)
	ids := make([][]string, writers)
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for g := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range n {
				w, err := l.NewWriter(Incoming)
				if err != nil {
					errs <- err
					return
				}
				w.SetEnvelope(&Envelope{Sender: "s@x"})
				w.Write([]byte("Subject: t\n\nbody\n"))
				w.AddRecipient(Recipient{Addr: "r@x"})
				if err := w.Commit(); err != nil {
					errs <- err
					return
				}
				ids[g] = append(ids[g], w.ID())
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	seen := make(map[string]bool)
	for _, list := range ids {
		for i, id := range list {
			if !ValidID(id) || len(id) > 16 || seen[id] {
				t.Fatalf("ID %q: invalid, too long or duplicate", id)
			}
			seen[id] = true
			if i > 0 && id[:idTimeLen] < list[i-1][:idTimeLen] {
				t.Errorf("ID %s created after %s sorts before it", id, list[i-1])
			}
		}
	}
	walked := 0
	if err := l.Walk(Incoming, func(id, path string) error { walked++; return nil }); err != nil {
		t.Fatal(err)
	}
	if walked != writers*n || len(seen) != writers*n {
		t.Errorf("%d IDs, %d files; want %d", len(seen), walked, writers*n)
	}
}

func TestMaildropFilesReadable(t *testing.T) {
	l := newLayout(t)
	_, path := writeMessage(t, l, Maildrop, &Envelope{}, "x\n")
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o644 {
		t.Errorf("maildrop file mode %v, want 0644", fi.Mode().Perm())
	}
	_, path = writeMessage(t, l, Incoming, &Envelope{}, "x\n")
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("incoming file mode %v, want 0600", fi.Mode().Perm())
	}
}

func TestRemoveTempLeavesQueueFiles(t *testing.T) {
	l := NewLayout(t.TempDir(), nil, 1)
	if err := l.MakeDirs(-1, -1); err != nil {
		t.Fatal(err)
	}
	w, err := l.NewWriter(Incoming)
	if err != nil {
		t.Fatal(err)
	}
	w.SetEnvelope(&Envelope{Sender: "a@b.test", Recipients: []Recipient{{Addr: "c@d.test"}}})
	w.Write([]byte("Subject: kept\n\nbody\n")) //nolint:errcheck // Commit tells
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	dir := l.Dir(Incoming)
	for _, name := range []string{tempPrefix + "1.1", tempPrefix + "2.7"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("half"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	n, err := l.RemoveTemp(Incoming)
	if err != nil || n != 2 {
		t.Fatalf("RemoveTemp: %d, %v; want 2 removed", n, err)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 || ents[0].Name() != w.ID() {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Errorf("left in incoming: %v, want only %s", names, w.ID())
	}
}
