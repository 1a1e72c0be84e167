package cleanup

import (
	"strings"

	"github.com/postern-mta/postern/internal/dsn"
	"github.com/postern-mta/postern/internal/header"
	"github.com/postern-mta/postern/internal/maps"
	"github.com/postern-mta/postern/internal/proto"
)

// check looks a header or a body line up in a check table (param names
// it in warnings; what is "header" or "body") and carries out the action
// the table gives (header_checks(5)). It returns what to output in its
// place and whether to output anything.
func (m *message) check(t maps.Table, param, what string, text []byte) ([]byte, bool) {
	v, found, err := t.Lookup(m.ctx, string(text))
	if err != nil {
		m.warnf("%s map lookup problem -- message not accepted, try again later", param)
		m.tempFail(errTable.Wrap(err))
		return text, true
	}
	if !found {
		return text, true
	}
	action, arg := splitAction(v)
	switch strings.ToUpper(action) {
	case "REJECT":
		st := m.rejectStatus(arg)
		m.reject, m.checks = st, false
		m.actLog("reject", what, text, st.Enhanced+" "+st.Text)
	case "WARN":
		m.actLog("warning", what, text, arg)
	case "INFO":
		m.actLog("info", what, text, arg)
	case "HOLD":
		if !m.hold && !m.discard {
			m.actLog("hold", what, text, arg)
			m.hold = true
		}
	case "DISCARD":
		m.actLog("discard", what, text, arg)
		m.discard, m.checks = true, false
	case "FILTER":
		switch {
		case arg == "":
			m.log.Warning("missing FILTER command argument in %s map", param)
		case !strings.Contains(arg, ":"):
			m.log.Warning("bad FILTER command %s in %s -- need transport:destination", arg, param)
		case m.envDone:
			m.warnf("FILTER %s from %s ignored: the queue file envelope is already written", arg, param)
		default:
			m.filter = arg
			m.actLog("filter", what, text, arg)
		}
	case "REDIRECT":
		if !strings.Contains(arg, "@") {
			m.log.Warning("bad REDIRECT target %q in %s map -- need user@domain", arg, param)
			break
		}
		m.redirect, m.checks = arg, false
		m.actLog("redirect", what, text, arg)
	case "BCC":
		if !strings.Contains(arg, "@") {
			m.log.Warning("bad BCC address %q in %s map -- need user@domain", arg, param)
			break
		}
		m.bccs = append(m.bccs, arg)
		m.actLog("bcc", what, text, arg)
	case "PREPEND":
		switch {
		case arg == "":
			m.log.Warning("PREPEND action without text in %s map", param)
		case what == "header" && !header.IsStart([]byte(arg)):
			m.log.Warning("bad PREPEND header text %q in %s map -- need \"headername: headervalue\"", arg, param)
		default:
			m.actLog("prepend", what, text, arg)
			m.writeString(arg + "\n")
		}
	case "REPLACE":
		switch {
		case arg == "":
			m.log.Warning("REPLACE action without text in %s map", param)
		case what == "header" && !header.IsStart([]byte(arg)):
			m.log.Warning("bad REPLACE header text %q in %s map -- need \"headername: headervalue\"", arg, param)
		default:
			m.actLog("replace", what, text, arg)
			return []byte(arg), true
		}
	case "IGNORE":
		return nil, false
	case "STRIP":
		m.actLog("strip", what, text, arg)
		return nil, false
	case "PASS":
		m.actLog("pass", what, text, arg)
		m.checks = false
	case "DUNNO", "OK":
	default:
		m.log.Warning("unknown command in %s map: %s", param, v)
	}
	return text, true
}

// splitAction splits a table result into its action word and the text
// after it.
func splitAction(v string) (action, arg string) {
	v = strings.TrimSpace(v)
	i := strings.IndexAny(v, " \t")
	if i < 0 {
		return v, ""
	}
	return v[:i], strings.TrimSpace(v[i:])
}

// rejectStatus is the status of a REJECT: the text may start with its
// own 4.x.x or 5.x.x code; the default is 5.7.1.
func (m *message) rejectStatus(arg string) *dsn.Status {
	if arg == "" {
		return &dsn.Status{Code: 550, Enhanced: "5.7.1", Text: "message content rejected"}
	}
	enh, text := "5.7.1", arg
	if w, rest, ok := strings.Cut(arg, " "); ok && dsn.IsEnhanced(w) {
		enh, text = w, strings.TrimSpace(rest)
	} else if !ok && dsn.IsEnhanced(arg) {
		enh, text = arg, ""
	}
	if enh[0] != '4' && enh[0] != '5' {
		m.log.Warning("bad DSN action in %s -- need 4.x.x or 5.x.x", arg)
		enh = "4" + enh[1:]
	}
	code := 550
	if enh[0] == '4' {
		code = 451
	}
	return &dsn.Status{Code: code, Enhanced: enh, Text: text}
}

// actLog logs what a check did, in Postfix's form:
//
//	QID: reject: header Subject: x from host[addr]; from=<s> to=<r> proto=ESMTP helo=<h>: 5.7.1 text
func (m *message) actLog(action, what string, text []byte, detail string) {
	if len(text) > 200 {
		text = text[:200]
	}
	b := make([]byte, 0, 160+len(text)+len(detail))
	b = append(b, m.id...)
	b = append(b, ": "...)
	b = append(b, action...)
	b = append(b, ": "...)
	b = append(b, what...)
	b = append(b, ' ')
	b = append(b, text...)
	b = append(b, " from "...)
	b = append(b, m.origin...)
	b = append(b, "; from=<"...)
	b = append(b, m.sender...)
	b = append(b, '>')
	if m.firstRcpt != "" {
		b = append(b, " to=<"...)
		b = append(b, m.firstRcpt...)
		b = append(b, '>')
	}
	if p := proto.Lookup(m.open.Attrs, proto.AttrProtocol); p != "" {
		b = append(b, " proto="...)
		b = append(b, p...)
	}
	if h := proto.Lookup(m.open.Attrs, proto.AttrHeloName); h != "" {
		b = append(b, " helo=<"...)
		b = append(b, h...)
		b = append(b, '>')
	}
	if detail != "" {
		b = append(b, ": "...)
		b = append(b, detail...)
	}
	m.log.Info("%s", b)
}
