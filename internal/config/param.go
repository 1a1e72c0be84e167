package config

import (
	"fmt"
	"sort"
)

// Kind is how a parameter's value is read.
type Kind int

// The kinds of parameter value.
const (
	KindString Kind = iota // free text
	KindBool               // yes or no
	KindInt                // a whole number
	KindTime               // a number with an optional unit: s m h d w
	KindSize               // a number of bytes
	KindList               // items separated by commas or whitespace
)

func (k Kind) String() string {
	switch k {
	case KindString:
		return "string"
	case KindBool:
		return "bool"
	case KindInt:
		return "int"
	case KindTime:
		return "time"
	case KindSize:
		return "size"
	case KindList:
		return "list"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Param is one parameter Postern knows.
type Param struct {
	Name string
	Kind Kind
	// Default is the value when main.cf does not set it, unexpanded: it may
	// refer to other parameters, e.g. "$myhostname ESMTP $mail_name".
	Default string
	// Unit is the unit of a KindTime value written without one: 's', 'm',
	// 'h', 'd' or 'w'.
	Unit byte
	Doc  string // one line
}

// The tables of parameters, one per topic (params_*.go).
var paramTables = [][]Param{
	identityParams,
	directoryParams,
	processParams,
	queueParams,
	schedulerParams,
	bounceParams,
	addressParams,
	tableParams,
	cleanupParams,
	smtpdParams,
	smtpdAccessParams,
	smtpdTLSParams,
	smtpdSASLParams,
	smtpParams,
	smtpTLSParams,
	localParams,
	virtualParams,
	deliveryParams,
	qmqpdParams,
	milterParams,
	postscreenParams,
	tlsParams,
	verifyParams,
}

var (
	registry     = map[string]Param{}
	sortedParams []Param
	// defaultRefs are the names the defaults refer to. Some of them are old
	// names kept for compatibility (virtual_maps, fallback_relay, …): an
	// administrator may set them without being told they are unused.
	defaultRefs = map[string]bool{}
)

// rawParams are never expanded by Config: the program that reads one
// expands it later with names of its own ($user, $rbl_code, …), or, for
// the expansion filters, "$" is just one of the characters listed.
var rawParams = map[string]bool{
	"default_rbl_reply":           true,
	"forward_path":                true,
	"luser_relay":                 true,
	"mailbox_command":             true,
	"smtpd_expansion_filter":      true,
	"smtpd_reject_footer":         true,
	"postscreen_expansion_filter": true,
	"postscreen_reject_footer":    true,
}

// IsRaw reports whether Config returns name's value as written, without
// expanding it; the program that uses it expands it with ExpandWith.
func IsRaw(name string) bool { return rawParams[name] }

func init() {
	add := func(p Param) {
		if _, dup := registry[p.Name]; dup {
			panic("config: parameter registered twice: " + p.Name)
		}
		if p.Kind == KindTime && p.Unit == 0 {
			p.Unit = timeUnit(p.Default)
		}
		registry[p.Name] = p
	}
	for _, t := range paramTables {
		for _, p := range t {
			add(p)
		}
	}
	for _, p := range lmtpParams() {
		add(p)
	}
	for _, p := range registry {
		sortedParams = append(sortedParams, p)
		nodes, err := parseValue(p.Default)
		if err != nil {
			if rawParams[p.Name] {
				continue // an expansion filter: "$" is a character
			}
			panic(fmt.Sprintf("config: default of %s: %v", p.Name, err))
		}
		refs(nodes, func(n string) { defaultRefs[n] = true })
	}
	sort.Slice(sortedParams, func(i, j int) bool { return sortedParams[i].Name < sortedParams[j].Name })
}

// timeUnit is the unit a time default is written with, 's' when none.
func timeUnit(def string) byte {
	if n := len(def); n > 0 {
		switch c := def[n-1]; c {
		case 's', 'm', 'h', 'd', 'w':
			return c
		}
	}
	return 's'
}

// Params returns every parameter Postern knows, sorted by name. Defaults
// computed from the machine (myhostname, mydomain, mynetworks, …) are
// filled in.
func Params() []Param {
	out := make([]Param, len(sortedParams))
	copy(out, sortedParams)
	var d *Config
	for i := range out {
		if _, ok := dynamicDefaults[out[i].Name]; ok {
			if d == nil {
				d = Defaults()
			}
			out[i].Default, _ = d.Raw(out[i].Name)
		}
	}
	return out
}

// LookupParam returns the parameter called name.
func LookupParam(name string) (Param, bool) {
	p, ok := registry[name]
	if ok {
		if _, dyn := dynamicDefaults[name]; dyn {
			p.Default, _ = Defaults().Raw(name)
		}
	}
	return p, ok
}

// Constructors for the tables.

func pString(name, def, doc string) Param {
	return Param{Name: name, Kind: KindString, Default: def, Doc: doc}
}

func pBool(name, def, doc string) Param {
	return Param{Name: name, Kind: KindBool, Default: def, Doc: doc}
}

func pInt(name, def, doc string) Param {
	return Param{Name: name, Kind: KindInt, Default: def, Doc: doc}
}

// pTime's unit for a bare number is the one its default is written with.
func pTime(name, def, doc string) Param {
	return Param{Name: name, Kind: KindTime, Default: def, Doc: doc}
}

func pSize(name, def, doc string) Param {
	return Param{Name: name, Kind: KindSize, Default: def, Doc: doc}
}

func pList(name, def, doc string) Param {
	return Param{Name: name, Kind: KindList, Default: def, Doc: doc}
}
