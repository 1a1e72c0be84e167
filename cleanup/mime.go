package cleanup

import (
	"mime"
	"strings"
)

// ctInfo is what a Content-Type header says about the body after its
// header block.
type ctInfo struct {
	multipart bool   // multipart/*: parts separated by boundary
	boundary  string //
	message   bool   // message/rfc822: an attached message, with its own header
}

// maxBoundary bounds a MIME boundary (RFC 2046 allows 70 characters).
const maxBoundary = 200

// parseContentType reads a Content-Type header (folded lines allowed).
// Sloppy headers that the mime package refuses are read leniently.
func parseContentType(h []byte) ctInfo {
	_, vs := headerName(h)
	v := strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' {
			return ' '
		}
		return r
	}, string(h[vs:]))
	mt, params, err := mime.ParseMediaType(v)
	if err != nil || mt == "" {
		mt, params = lenientMediaType(v)
	}
	var ct ctInfo
	switch {
	case strings.HasPrefix(mt, "multipart/"):
		b := params["boundary"]
		if b != "" && len(b) <= maxBoundary {
			ct.multipart, ct.boundary = true, b
		}
	case mt == "message/rfc822" || mt == "message/global":
		ct.message = true
	}
	return ct
}

// lenientMediaType finds the media type and the boundary parameter of a
// header value the strict parser refused.
func lenientMediaType(v string) (string, map[string]string) {
	typ, rest, _ := strings.Cut(v, ";")
	typ = strings.ToLower(strings.TrimSpace(typ))
	if i := strings.IndexAny(typ, " \t("); i >= 0 {
		typ = typ[:i]
	}
	params := map[string]string{}
	lower := strings.ToLower(rest)
	if i := strings.Index(lower, "boundary="); i >= 0 {
		b := rest[i+len("boundary="):]
		if strings.HasPrefix(b, `"`) {
			if j := strings.IndexByte(b[1:], '"'); j >= 0 {
				b = b[1 : j+1]
			} else {
				b = b[1:]
			}
		} else if j := strings.IndexAny(b, "; \t"); j >= 0 {
			b = b[:j]
		}
		params["boundary"] = b
	}
	return typ, params
}
