package mailbox

import (
	"bufio"
	"bytes"
	"io"
	"strings"
)

// DeliveredTo returns the addresses of the message's Delivered-To headers,
// lower-cased, for loop detection. It reads the header section only, at
// most limit bytes of it (header_size_limit); what lies beyond is not
// looked at.
func DeliveredTo(r io.Reader, limit int64) (map[string]bool, error) {
	br := bufio.NewReaderSize(io.LimitReader(r, limit), 16<<10)
	found := map[string]bool{}
	var cur []byte // the current header, continuation lines joined
	flush := func() {
		if len(cur) == 0 {
			return
		}
		name, value, ok := bytes.Cut(cur, []byte(":"))
		if ok && strings.EqualFold(string(bytes.TrimRight(name, " \t")), "Delivered-To") {
			v := strings.ToLower(strings.TrimSpace(string(value)))
			if v != "" {
				found[v] = true
			}
		}
		cur = cur[:0]
	}
	for {
		line, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			// A header line longer than the buffer is not one we look for.
			flush()
			for err == bufio.ErrBufferFull {
				_, err = br.ReadSlice('\n')
			}
			if err != nil {
				return found, readErr(err)
			}
			continue
		}
		trimmed := bytes.TrimRight(line, "\r\n")
		if len(trimmed) == 0 && len(line) > 0 {
			break // end of headers
		}
		if len(trimmed) > 0 && (trimmed[0] == ' ' || trimmed[0] == '\t') {
			cur = append(cur, trimmed...)
		} else {
			flush()
			cur = append(cur, trimmed...)
		}
		if err != nil {
			flush()
			return found, readErr(err)
		}
	}
	flush()
	return found, nil
}

func readErr(err error) error {
	if err == io.EOF {
		return nil
	}
	return err
}
