package matchlist

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/postern-mta/postern/internal/maps"
)

func TestSplit(t *testing.T) {
	got := Split("a.test, b.test\tinline:{x=1, y=2} !c.test")
	want := []string{"a.test", "b.test", "inline:{x=1, y=2}", "!c.test"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Split = %q", got)
	}
}

func TestDomains(t *testing.T) {
	ctx := context.Background()
	file := filepath.Join(t.TempDir(), "domains")
	os.WriteFile(file, []byte("# list\nfromfile.test other.test\n"), 0o644)
	d, err := NewDomains(Split("!bad.example.test example.test .sub.test "+file+" inline:{tab.test=x}"), true, maps.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	for dom, want := range map[string]bool{
		"example.test": true, "a.example.test": true, "bad.example.test": false, "EXAMPLE.TEST.": true,
		"sub.test": false, "x.sub.test": true, "fromfile.test": true, "tab.test": true, "other": false,
	} {
		got, err := d.Match(ctx, dom)
		if err != nil || got != want {
			t.Errorf("Match(%q) = %v, %v; want %v", dom, got, err, want)
		}
	}
	strict, _ := NewDomains([]string{"example.test"}, false, maps.DefaultOptions())
	if ok, _ := strict.Match(ctx, "a.example.test"); ok {
		t.Error("subdomain matched without parent_domain_matches_subdomains")
	}
}

func TestNetworks(t *testing.T) {
	ctx := context.Background()
	n, err := NewNetworks(Split("127.0.0.0/8, [::1]/128 !192.0.2.66 192.0.2.0/24 [2001:db8::]/32 trusted.example.test"), maps.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		addr, host string
		want       bool
	}{
		{"127.0.0.1", "localhost", true}, {"::1", "", true}, {"192.0.2.66", "", false}, {"192.0.2.7", "", true},
		{"2001:db8::5", "", true}, {"198.51.100.1", "trusted.example.test", true}, {"198.51.100.1", "unknown", false},
		{"::ffff:127.0.0.1", "", true},
	} {
		got, err := n.Match(ctx, netip.MustParseAddr(tt.addr), tt.host)
		if err != nil || got != tt.want {
			t.Errorf("Match(%s, %s) = %v, %v", tt.addr, tt.host, got, err)
		}
	}
}

func TestNetworksFromStyle(t *testing.T) {
	nets := NetworksFromStyle("host")
	n, err := NewNetworks(nets, maps.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := n.Match(context.Background(), netip.MustParseAddr("127.0.0.1"), ""); !ok {
		t.Errorf("loopback not in %v", nets)
	}
}
