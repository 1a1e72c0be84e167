package smtpd

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/postern-mta/postern/internal/maps"
)

// commandList matches SMTP command names: smtpd_forbidden_commands and
// smtpd_noop_commands. Items are words (any case), inline patterns such
// as "regexp:{{/^[^A-Z]/ Bogus}}", or lookup tables.
type commandList struct {
	words  map[string]bool
	res    []*regexp.Regexp
	tables []maps.Table
}

// parseCommandList builds a list; open opens lookup tables.
func parseCommandList(items []string, open func(string) (maps.Table, error)) (commandList, error) {
	l := commandList{words: map[string]bool{}}
	for _, it := range items {
		lower := strings.ToLower(it)
		switch {
		case strings.HasPrefix(lower, "regexp:{") || strings.HasPrefix(lower, "pcre:{"):
			re, err := inlinePattern(it[strings.IndexByte(it, ':')+1:])
			if err != nil {
				return l, fmt.Errorf("%s: %w", it, err)
			}
			l.res = append(l.res, re)
		case strings.Contains(it, ":"):
			t, err := open(it)
			if err != nil {
				return l, err
			}
			l.tables = append(l.tables, t)
		default:
			l.words[strings.ToUpper(it)] = true
		}
	}
	return l, nil
}

// inlinePattern reads "{{/re/flags result}}" (or "{/re/ result}"); the
// match is case-insensitive unless the flags hold an i.
func inlinePattern(s string) (*regexp.Regexp, error) {
	s = strings.TrimSpace(s)
	for strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}") {
		s = strings.TrimSpace(s[1 : len(s)-1])
	}
	if len(s) < 2 || s[0] != '/' {
		return nil, fmt.Errorf("expected /pattern/")
	}
	end := strings.LastIndexByte(s[1:], '/')
	if end < 0 {
		return nil, fmt.Errorf("missing closing /")
	}
	body := s[1 : end+1]
	rest := s[end+2:]
	flags, _, _ := strings.Cut(rest, " ")
	insensitive := true
	for _, f := range flags {
		if f == 'i' {
			insensitive = !insensitive
		}
	}
	if insensitive {
		body = "(?i)" + body
	}
	return regexp.Compile(body)
}

func (l commandList) match(ctx context.Context, verb string) bool {
	if l.words[strings.ToUpper(verb)] {
		return true
	}
	for _, re := range l.res {
		if re.MatchString(verb) {
			return true
		}
	}
	for _, t := range l.tables {
		if _, found, err := t.Lookup(ctx, verb); err == nil && found {
			return true
		}
	}
	return false
}

// noop reports whether verb is in smtpd_noop_commands.
func (c *Config) noop(verb string) bool {
	for _, n := range c.NoopCommands {
		if strings.EqualFold(n, verb) {
			return true
		}
	}
	return false
}

// discarded reports whether an EHLO keyword is in
// smtpd_discard_ehlo_keywords.
func (c *Config) discarded(keyword string) bool {
	for _, k := range c.DiscardEHLOKeywords {
		if strings.EqualFold(k, keyword) {
			return true
		}
	}
	return false
}
