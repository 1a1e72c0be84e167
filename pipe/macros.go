package pipe

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/postern-mta/postern/internal/addr"
	"github.com/postern-mta/postern/internal/proto"
)

// Macros are pipe(8)'s $names. The recipient macros take one value per
// recipient: an argument that uses one is repeated for each recipient.
var recipientMacros = map[string]bool{
	"recipient": true, "original_recipient": true, "user": true,
	"extension": true, "mailbox": true, "domain": true,
}

var messageMacros = map[string]bool{
	"sender": true, "nexthop": true, "size": true, "queue_id": true,
	"client_address": true, "client_helo": true, "client_hostname": true,
	"client_port": true, "client_protocol": true,
	"sasl_method": true, "sasl_sender": true, "sasl_username": true,
}

// segment is a piece of an argument: literal text, or a macro with an
// optional ${name?text} / ${name:text} condition.
type segment struct {
	text string    // literal text ("" name)
	name string    // "" for literal text
	cond byte      // 0, '?' (sub when the value is not empty) or ':' (when empty)
	sub  []segment // the conditional text, itself expanded
}

// parseArg splits an argument into literal text and macros: $name,
// ${name}, $(name), ${name?text}, ${name:text}; $$ is a '$'.
func parseArg(s string) ([]segment, error) {
	var segs []segment
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			segs = append(segs, segment{text: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); i++ {
		if s[i] != '$' {
			lit.WriteByte(s[i])
			continue
		}
		if i+1 == len(s) {
			return nil, fmt.Errorf("'$' at the end")
		}
		switch c := s[i+1]; {
		case c == '$':
			lit.WriteByte('$')
			i++
		case c == '{' || c == '(':
			closer := byte('}')
			if c == '(' {
				closer = ')'
			}
			end := matching(s[i+2:], c, closer)
			if end < 0 {
				return nil, fmt.Errorf("missing %q", closer)
			}
			body := s[i+2 : i+2+end]
			seg := segment{name: body}
			if k := strings.IndexAny(body, "?:"); k >= 0 {
				sub, err := parseArg(body[k+1:])
				if err != nil {
					return nil, err
				}
				seg = segment{name: body[:k], cond: body[k], sub: sub}
			}
			if !isName(seg.name) {
				return nil, fmt.Errorf("bad macro name %q", seg.name)
			}
			flush()
			segs = append(segs, seg)
			i += 2 + end
		case isNameByte(c):
			j := i + 1
			for j < len(s) && isNameByte(s[j]) {
				j++
			}
			flush()
			segs = append(segs, segment{name: s[i+1 : j]})
			i = j - 1
		default:
			return nil, fmt.Errorf("bad macro after '$'")
		}
	}
	flush()
	return segs, nil
}

// matching finds the closer that ends a macro, past nested ones.
func matching(s string, opener, closer byte) int {
	depth := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case opener:
			depth++
		case closer:
			if depth == 0 {
				return i
			}
			depth--
		}
	}
	return -1
}

func isNameByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func isName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isNameByte(s[i]) {
			return false
		}
	}
	return true
}

// checkMacros reports syntax errors and unknown macro names in an argument.
func checkMacros(arg string) error {
	segs, err := parseArg(arg)
	if err != nil {
		return err
	}
	return checkNames(segs)
}

func checkNames(segs []segment) error {
	for _, s := range segs {
		if s.name != "" && !recipientMacros[s.name] && !messageMacros[s.name] {
			return fmt.Errorf("unknown macro $%s", s.name)
		}
		if err := checkNames(s.sub); err != nil {
			return err
		}
	}
	return nil
}

// usesRecipient reports whether any macro of segs is a recipient macro.
func usesRecipient(segs []segment) bool {
	for _, s := range segs {
		if recipientMacros[s.name] || usesRecipient(s.sub) {
			return true
		}
	}
	return false
}

// expansion holds the values of the macros for one request.
type expansion struct {
	message map[string]string
	rcpts   []map[string]string
}

// macros computes every macro's value for a request and its recipients.
func (a *Args) macros(req *proto.DeliverRequest, rcpts []proto.DeliverRcpt, delim string, size int64) *expansion {
	f := a.Flags
	sender := req.Sender
	if sender == "" {
		sender = a.NullSender
	} else if f.Quote {
		sender = quoteAddr(sender)
	}
	nexthop := req.Nexthop
	if f.LowerDomain {
		nexthop = strings.ToLower(nexthop)
	}
	x := &expansion{message: map[string]string{
		"sender":          sender,
		"nexthop":         nexthop,
		"size":            strconv.FormatInt(size, 10),
		"queue_id":        req.QueueID,
		"client_address":  proto.Lookup(req.Attrs, proto.AttrClientAddr),
		"client_helo":     proto.Lookup(req.Attrs, proto.AttrHeloName),
		"client_hostname": proto.Lookup(req.Attrs, proto.AttrClientName),
		"client_port":     proto.Lookup(req.Attrs, proto.AttrClientPort),
		"client_protocol": proto.Lookup(req.Attrs, proto.AttrProtocol),
		"sasl_method":     proto.Lookup(req.Attrs, proto.AttrSASLMethod),
		"sasl_sender":     proto.Lookup(req.Attrs, proto.AttrSASLSender),
		"sasl_username":   proto.Lookup(req.Attrs, proto.AttrSASLUsername),
	}}
	for _, r := range rcpts {
		local, domain := addr.Split(r.Addr)
		local = addr.UnquoteLocal(local)
		if f.LowerLocal {
			local = strings.ToLower(local)
		}
		if f.LowerDomain {
			domain = strings.ToLower(domain)
		}
		user, ext, _ := addr.Extension(local, delim)
		rcpt := addr.Join(local, domain)
		orig := r.Orig
		if orig == "" {
			orig = r.Addr
		}
		if f.Quote {
			rcpt, orig = quoteAddr(rcpt), quoteAddr(orig)
		}
		x.rcpts = append(x.rcpts, map[string]string{
			"recipient":          rcpt,
			"original_recipient": orig,
			"user":               user,
			"extension":          ext,
			"mailbox":            local,
			"domain":             domain,
		})
	}
	return x
}

// quoteAddr quotes an address's local part the RFC 822 way when needed.
func quoteAddr(a string) string {
	local, domain := addr.Split(a)
	return addr.Join(addr.QuoteLocal(addr.UnquoteLocal(local)), domain)
}

// expandArgv gives the command's argv for a request: each argument that
// uses a recipient macro once per recipient, the others once.
func (x *expansion) expandArgv(argv []string) ([]string, error) {
	var out []string
	for _, arg := range argv {
		segs, err := parseArg(arg)
		if err != nil {
			return nil, err
		}
		if !usesRecipient(segs) {
			out = append(out, expand(segs, x.message, nil))
			continue
		}
		for _, r := range x.rcpts {
			out = append(out, expand(segs, x.message, r))
		}
		if len(out) > maxArgs {
			return nil, fmt.Errorf("more than %d arguments", maxArgs)
		}
	}
	return out, nil
}

func expand(segs []segment, message, rcpt map[string]string) string {
	var b strings.Builder
	for _, s := range segs {
		if s.name == "" {
			b.WriteString(s.text)
			continue
		}
		v, ok := rcpt[s.name]
		if !ok {
			v = message[s.name]
		}
		switch s.cond {
		case 0:
			b.WriteString(v)
		case '?':
			if v != "" {
				b.WriteString(expand(s.sub, message, rcpt))
			}
		case ':':
			if v == "" {
				b.WriteString(expand(s.sub, message, rcpt))
			}
		}
	}
	return b.String()
}
