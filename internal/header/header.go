// Package header holds what several programs need to know about message
// header lines (RFC 5322 §2.2): cleanup rewrites headers, sendmail reads
// them for -t, postcat splits a message into its header and body.
package header

// IsStart reports whether a line starts a header field: a name of
// printable characters other than ':', optional blanks, then ':'.
func IsStart(line []byte) bool {
	i := 0
	for i < len(line) && line[i] > ' ' && line[i] < 0x7f && line[i] != ':' {
		i++
	}
	if i == 0 {
		return false
	}
	for i < len(line) && (line[i] == ' ' || line[i] == '\t') {
		i++
	}
	return i < len(line) && line[i] == ':'
}

// IsContinuation reports whether a line continues the header field before
// it (it starts with a blank).
func IsContinuation(line []byte) bool {
	return len(line) > 0 && (line[0] == ' ' || line[0] == '\t')
}
