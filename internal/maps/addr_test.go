package maps

import (
	"context"
	"errors"
	"reflect"
	"testing"
)

// recorder finds nothing and remembers what it was asked.
type recorder struct {
	keys    []string
	pattern bool
	find    map[string]string
	err     error
}

func (r *recorder) Name() string    { return "recorder:" }
func (r *recorder) IsPattern() bool { return r.pattern }
func (r *recorder) Lookup(_ context.Context, key string) (string, bool, error) {
	r.keys = append(r.keys, key)
	if r.err != nil {
		return "", false, r.err
	}
	v, ok := r.find[key]
	return v, ok, nil
}

func isLocal(d string) bool { return d == "local.test" }

func TestLookupAddressOrder(t *testing.T) {
	tests := []struct {
		name    string
		addr    string
		o       AddrOptions
		pattern bool
		want    []string
	}{
		{"access", "user@Mail.Example.com", AddrOptions{Style: StyleAccess, ParentMatches: true},
			false, []string{"user@mail.example.com", "mail.example.com", "example.com", "com", "user@"}},
		{"access ext", "user+ext@a.test", AddrOptions{Style: StyleAccess, Delimiter: "+", ParentMatches: true},
			false, []string{"user+ext@a.test", "user@a.test", "a.test", "test", "user+ext@", "user@"}},
		{"access dot parents", "u@a.b.test", AddrOptions{Style: StyleAccess},
			false, []string{"u@a.b.test", "a.b.test", ".b.test", ".test", "u@"}},
		{"access null", "", AddrOptions{Style: StyleAccess}, false, []string{"<>"}},
		{"access literal", "u@[192.0.2.1]", AddrOptions{Style: StyleAccess, ParentMatches: true},
			false, []string{"u@[192.0.2.1]", "[192.0.2.1]", "u@"}},
		{"access pattern", "user+ext@a.test", AddrOptions{Style: StyleAccess, Delimiter: "+"},
			true, []string{"user+ext@a.test"}},
		{"virtual remote", "user+ext@remote.test", AddrOptions{Style: StyleVirtual, Delimiter: "+", IsLocalDomain: isLocal},
			false, []string{"user+ext@remote.test", "user@remote.test", "@remote.test"}},
		{"virtual local", "user+ext@local.test", AddrOptions{Style: StyleVirtual, Delimiter: "+", IsLocalDomain: isLocal},
			false, []string{"user+ext@local.test", "user@local.test", "user+ext", "user", "@local.test"}},
		{"canonical no ext", "user@local.test", AddrOptions{Style: StyleCanonical, Delimiter: "+", IsLocalDomain: isLocal},
			false, []string{"user@local.test", "user", "@local.test"}},
		{"relocated bare", "user", AddrOptions{Style: StyleRelocated}, false, []string{"user"}},
		{"virtual null", "", AddrOptions{Style: StyleVirtual}, false, nil},
		{"transport", "u+e@a.b.test", AddrOptions{Style: StyleTransport, Delimiter: "+"},
			false, []string{"u+e@a.b.test", "u@a.b.test", "a.b.test", ".b.test", ".test", "*"}},
		{"transport parent", "u@a.b.test", AddrOptions{Style: StyleTransport, ParentMatches: true},
			false, []string{"u@a.b.test", "a.b.test", "b.test", "test", "*"}},
		{"alias", "Owner+x@local.test", AddrOptions{Style: StyleAlias, Delimiter: "+"},
			false, []string{"Owner+x", "Owner"}},
		{"multi delimiters", "a-b+c@d.test", AddrOptions{Style: StyleVirtual, Delimiter: "+-"},
			false, []string{"a-b+c@d.test", "a@d.test", "@d.test"}},
		{"owner- not split", "owner-list@d.test", AddrOptions{Style: StyleVirtual, Delimiter: "-"},
			false, []string{"owner-list@d.test", "@d.test"}},
		{"-request not split", "list-request@d.test", AddrOptions{Style: StyleVirtual, Delimiter: "-"},
			false, []string{"list-request@d.test", "@d.test"}},
		{"mailer-daemon not split", "MAILER-DAEMON@d.test", AddrOptions{Style: StyleVirtual, Delimiter: "-"},
			false, []string{"MAILER-DAEMON@d.test", "@d.test"}},
		{"empty extension", "user+@d.test", AddrOptions{Style: StyleVirtual, Delimiter: "+"},
			false, []string{"user+@d.test", "user@d.test", "@d.test"}},
		{"leading delimiter", "+user@d.test", AddrOptions{Style: StyleVirtual, Delimiter: "+"},
			false, []string{"+user@d.test", "@d.test"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := &recorder{pattern: tc.pattern}
			res, err := LookupAddress(t.Context(), r, tc.addr, tc.o)
			if err != nil || res.Found {
				t.Fatalf("res %+v err %v", res, err)
			}
			if !reflect.DeepEqual(r.keys, tc.want) {
				t.Errorf("keys\n got %q\nwant %q", r.keys, tc.want)
			}
		})
	}
}

func TestLookupAddressFirstWins(t *testing.T) {
	r := &recorder{find: map[string]string{"@d.test": "catchall", "user@d.test": "user"}}
	res, err := LookupAddress(t.Context(), r, "user+x@D.test", AddrOptions{Style: StyleVirtual, Delimiter: "+"})
	if err != nil || res != (Result{Value: "user", Key: "user@d.test", Found: true}) {
		t.Errorf("res %+v err %v", res, err)
	}
	boom := errors.New("boom")
	r = &recorder{err: boom}
	if _, err := LookupAddress(t.Context(), r, "a@b", AddrOptions{}); !errors.Is(err, boom) {
		t.Errorf("error not passed on: %v", err)
	}
	if len(r.keys) != 1 {
		t.Errorf("lookups went on after an error: %q", r.keys)
	}
}

func TestLookupAddressListSkipsPatterns(t *testing.T) {
	fixed := &recorder{}
	pat := &recorder{pattern: true}
	l := &List{name: "test", tables: []Table{pat, fixed}}
	_, err := LookupAddress(t.Context(), l, "u@a.test", AddrOptions{Style: StyleAccess, ParentMatches: true})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"u@a.test"}; !reflect.DeepEqual(pat.keys, want) {
		t.Errorf("pattern member got %q, want %q", pat.keys, want)
	}
	if want := []string{"u@a.test", "a.test", "test", "u@"}; !reflect.DeepEqual(fixed.keys, want) {
		t.Errorf("fixed member got %q, want %q", fixed.keys, want)
	}
}

func TestLookupDomain(t *testing.T) {
	r := &recorder{}
	_, _ = LookupDomain(t.Context(), r, "A.B.Example.", false)
	if want := []string{"a.b.example", ".b.example", ".example"}; !reflect.DeepEqual(r.keys, want) {
		t.Errorf("keys %q, want %q", r.keys, want)
	}
}

func TestLookupClient(t *testing.T) {
	tests := []struct {
		host, addr string
		pattern    bool
		want       []string
	}{
		{"mail.Example.com", "192.0.2.10", false,
			[]string{"mail.example.com", "example.com", "com", "192.0.2.10", "192.0.2", "192.0", "192"}},
		{"", "2001:db8::1", false, []string{"2001:db8::1", "2001:db8:", "2001:db8", "2001"}},
		{"unknown", "[192.0.2.1]", true, []string{"unknown", "192.0.2.1"}},
	}
	for _, tc := range tests {
		r := &recorder{pattern: tc.pattern}
		if _, err := LookupClient(t.Context(), r, tc.host, tc.addr); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(r.keys, tc.want) {
			t.Errorf("%s %s: keys\n got %q\nwant %q", tc.host, tc.addr, r.keys, tc.want)
		}
	}
	r := &recorder{}
	_, _ = LookupClientParent(t.Context(), r, "a.b.test", "", false)
	if want := []string{"a.b.test", ".b.test", ".test"}; !reflect.DeepEqual(r.keys, want) {
		t.Errorf("keys %q, want %q", r.keys, want)
	}
}

func TestLookupClientCIDRList(t *testing.T) {
	cidr, _ := openRules(t, "cidr", "192.0.2.0/24 REJECT\n")
	l := &List{name: "l", tables: []Table{cidr}}
	res, err := LookupClient(t.Context(), l, "host.test", "192.0.2.9")
	if err != nil || !res.Found || res.Value != "REJECT" || res.Key != "192.0.2.9" {
		t.Errorf("res %+v err %v", res, err)
	}
}
