package config

import (
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const sampleMainCF = `# A comment
myhostname = mx.example.com
mydestination = $myhostname,
    localhost.$mydomain,
# a comment inside does not end the value
	localhost
relayhost=[relay.example]:587   
   # indented comment
mynetworks = 127.0.0.0/8
mynetworks = 127.0.0.0/8 [::1]/128
empty =
`

func TestParse(t *testing.T) {
	c, err := Parse("/etc/postern/main.cf", []byte(sampleMainCF))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, raw, want string }{
		{"myhostname", "mx.example.com", "mx.example.com"},
		{"mydestination", "$myhostname, localhost.$mydomain, localhost", "mx.example.com, localhost.example.com, localhost"},
		{"relayhost", "[relay.example]:587", "[relay.example]:587"},
		{"mynetworks", "127.0.0.0/8 [::1]/128", "127.0.0.0/8 [::1]/128"},
		{"empty", "", ""},
	} {
		raw, set := c.Raw(tc.name)
		if raw != tc.raw || !set {
			t.Errorf("Raw(%s) = %q, %v; want %q, true", tc.name, raw, set, tc.raw)
		}
		if got := c.Get(tc.name); got != tc.want {
			t.Errorf("Get(%s) = %q, want %q", tc.name, got, tc.want)
		}
	}
	if got, want := c.SetNames(), []string{"empty", "mydestination", "myhostname", "mynetworks", "relayhost"}; !reflect.DeepEqual(got, want) {
		t.Errorf("SetNames = %q, want %q", got, want)
	}
	if c.Line("mydestination") != 3 || c.Line("mynetworks") != 10 {
		t.Errorf("lines: mydestination %d, mynetworks %d", c.Line("mydestination"), c.Line("mynetworks"))
	}
	if c.Dir() != "/etc/postern" || c.File() != "/etc/postern/main.cf" {
		t.Errorf("Dir, File = %q, %q", c.Dir(), c.File())
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"a = 1\nnoequals\n", "main.cf, line 2: missing '=' after parameter name: \"noequals\""},
		{"x y = 1\n", "main.cf, line 1: missing '=' after parameter name"},
		{"= 1\n", "main.cf, line 1: missing parameter name"},
		{"  leading = 1\n", "main.cf, line 1: text starts with whitespace but continues no line"},
		{"a = 1\nb = x\x00y\n", "main.cf, line 2: NUL character"},
		{"# c\nmyorigin = ${foo\n", "main.cf, line 2: myorigin = \"${foo\": unterminated \"${\""},
		{"a = 1\nmyorigin = $\n", "main.cf, line 2: myorigin = \"$\": \"$\" at the end"},
		{"b = ${x?{1}\n  :{2}\n", "main.cf, line 1: b"},
		{"mydomain = $myorigin\n\nmyorigin = x.$mydomain\n", "main.cf, line 1: mydomain = \"$myorigin\": parameter reference loop: mydomain -> myorigin -> mydomain"},
		{"compatibility_level = 3.x\n", "main.cf, line 1: compatibility_level = \"3.x\": malformed compatibility level"},
	} {
		_, err := Parse("/etc/postern/main.cf", []byte(tc.in))
		if err == nil {
			t.Errorf("Parse(%q): no error, want %q", tc.in, tc.want)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "/etc/postern/") {
			t.Errorf("Parse(%q) error\n got %q\nwant %q", tc.in, err, tc.want)
		}
		if strings.Count(err.Error(), "main.cf") != 1 {
			t.Errorf("Parse(%q) error names the file more than once: %q", tc.in, err)
		}
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	c, err := Load(dir)
	if err != nil {
		t.Fatalf("Load without main.cf: %v", err)
	}
	if len(c.SetNames()) != 0 || c.Dir() != dir || c.Get("config_directory") != dir {
		t.Errorf("Load without main.cf: set %q, dir %q, config_directory %q", c.SetNames(), c.Dir(), c.Get("config_directory"))
	}
	if err := os.WriteFile(filepath.Join(dir, "main.cf"), []byte("queue_directory = /tmp/q\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err = Load(dir)
	if err != nil || c.Get("queue_directory") != "/tmp/q" {
		t.Fatalf("Load: %v, queue_directory %q", err, c.Get("queue_directory"))
	}
	big := strings.Repeat("# padding\n", MaxFileSize/10+1)
	if err := os.WriteFile(filepath.Join(dir, "main.cf"), []byte(big), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("Load of a huge main.cf: %v", err)
	}
}

func TestDefaults(t *testing.T) {
	c := Defaults()
	for _, tc := range []struct{ name, want string }{
		{"config_directory", "/etc/postern"},
		{"queue_directory", "/var/spool/postern"},
		{"mail_owner", "postern"},
		{"setgid_group", "postdrop"},
		{"mail_name", "Postern"},
		{"syslog_name", "postern"},
		{"command_directory", "/usr/sbin"},
		{"enable_long_queue_ids", "yes"},
		{"maillog_file", ""},
		{"compatibility_level", "3.7"},
		{"relay_domains", ""},
		{"mynetworks_style", "host"},
		{"smtputf8_enable", "yes"},
		{"inet_interfaces", "all"},
		{"smtpd_timeout", "300s"},
		{"smtpd_hard_error_limit", "20"},
		{"smtpd_relay_restrictions", "permit_mynetworks, permit_sasl_authenticated, defer_unauth_destination"},
		{"postern_stop_timeout", "30s"},
		{"smtp_dns_server", ""},
		{"lmtp_tcp_port", "24"},
		{"lmtp_connect_timeout", "0s"},
		{"lmtp_tls_key_file", ""},
	} {
		if got := c.Get(tc.name); got != tc.want {
			t.Errorf("default %s = %q, want %q", tc.name, got, tc.want)
		}
	}
	host := c.Get("myhostname")
	if !strings.Contains(host, ".") {
		t.Errorf("myhostname = %q, want a dotted name", host)
	}
	if raw, _ := c.Raw("lmtp_tls_key_file"); raw != "$lmtp_tls_cert_file" {
		t.Errorf("lmtp_tls_key_file default %q", raw)
	}
	c.Set("stress", "yes")
	if got := c.Get("smtpd_timeout"); got != "10s" {
		t.Errorf("smtpd_timeout under stress = %q", got)
	}
}

func TestDynamicDefaults(t *testing.T) {
	c := Defaults()
	c.Set("myhostname", "mx.mail.example.com")
	if got := c.Get("mydomain"); got != "mail.example.com" {
		t.Errorf("mydomain = %q", got)
	}
	if got := c.Get("mydestination"); got != "mx.mail.example.com, localhost.mail.example.com, localhost" {
		t.Errorf("mydestination = %q", got)
	}
	for host, want := range map[string]string{
		"a.b.c": "b.c", "a.b": "localdomain", "vm.localdomain": "localdomain", "x": "localdomain",
	} {
		if got := domainOf(host); got != want {
			t.Errorf("domainOf(%q) = %q, want %q", host, got, want)
		}
	}
	if got := c.Get("mynetworks"); !strings.Contains(got, "127.0.0.1/32") {
		t.Errorf("mynetworks (style host) = %q, want 127.0.0.1/32 in it", got)
	}
	c.Set("myhostname", "$mydomain")
	if _, err := c.Expand("mydomain"); err == nil {
		t.Errorf("myhostname = $mydomain: no loop error")
	}
}

func TestNetworks(t *testing.T) {
	addrs := localAddrsFor(t, "127.0.0.1/8", "192.0.2.7/24", "172.20.1.2/24", "::1/128", "fd00::2/64")
	for _, tc := range []struct{ style, protos, want string }{
		{"host", "all", "127.0.0.1/32 192.0.2.7/32 172.20.1.2/32 [::1]/128 [fd00::2]/128"},
		{"subnet", "all", "127.0.0.0/8 192.0.2.0/24 172.20.1.0/24 [::1]/128 [fd00::]/64"},
		{"class", "ipv4", "127.0.0.0/8 192.0.2.0/24 172.20.0.0/16"},
		{"host", "ipv6", "[::1]/128 [fd00::2]/128"},
	} {
		if got := networks(addrs, tc.style, tc.protos); got != tc.want {
			t.Errorf("networks(%s, %s) = %q, want %q", tc.style, tc.protos, got, tc.want)
		}
	}
}

func TestWithAndSet(t *testing.T) {
	c, err := Parse("/x/main.cf", []byte("syslog_name = postern\n"))
	if err != nil {
		t.Fatal(err)
	}
	svc := c.With([]Option{{"service_name", "relay"}, {"syslog_name", "postern/$service_name"}})
	if got := svc.Get("syslog_name"); got != "postern/relay" {
		t.Errorf("with -o: syslog_name = %q", got)
	}
	if got := c.Get("syslog_name"); got != "postern" {
		t.Errorf("With changed the original: %q", got)
	}
	if v, ok := c.Lookup("no_such_thing"); ok || v != "" {
		t.Errorf("Lookup(unknown) = %q, %v", v, ok)
	}
	if v, ok := c.Lookup("mail_name"); !ok || v != "Postern" {
		t.Errorf("Lookup(mail_name) = %q, %v", v, ok)
	}
	c.Set("my_own", "x")
	if v, ok := c.Lookup("my_own"); !ok || v != "x" || !c.IsSet("my_own") {
		t.Errorf("Lookup(my_own) = %q, %v", v, ok)
	}
	if raw, set := c.Raw("mydestination"); set || raw != "$myhostname, localhost.$mydomain, localhost" {
		t.Errorf("Raw(mydestination) = %q, %v", raw, set)
	}
}

func TestResolveDir(t *testing.T) {
	t.Setenv("MAIL_CONFIG", "")
	if got := ResolveDir(""); got != DefaultDir {
		t.Errorf("ResolveDir() = %q", got)
	}
	t.Setenv("MAIL_CONFIG", "/srv/pc")
	if got := ResolveDir(""); got != "/srv/pc" {
		t.Errorf("ResolveDir with MAIL_CONFIG = %q", got)
	}
	if got := ResolveDir("/a/b"); got != "/a/b" {
		t.Errorf("ResolveDir(flag) = %q", got)
	}
	wd, _ := os.Getwd()
	if got := ResolveDir("rel"); got != filepath.Join(wd, "rel") {
		t.Errorf("ResolveDir(rel) = %q, want absolute", got)
	}
}

func localAddrsFor(t *testing.T, cidrs ...string) []*net.IPNet {
	t.Helper()
	var out []*net.IPNet
	for _, c := range cidrs {
		ip, n, err := net.ParseCIDR(c)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, &net.IPNet{IP: ip, Mask: n.Mask})
	}
	return out
}

// BenchmarkParse measures reading and checking a distribution-style main.cf.
func BenchmarkParse(b *testing.B) {
	data := []byte(sampleMainCF + "smtpd_banner = $myhostname ESMTP $mail_name (Debian/GNU)\nsmtp_tls_session_cache_database = btree:${data_directory}/smtp_scache\nsmtpd_relay_restrictions = permit_mynetworks permit_sasl_authenticated defer_unauth_destination\n")
	for b.Loop() {
		if _, err := Parse("main.cf", data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGet measures one expanded lookup through several references.
func BenchmarkGet(b *testing.B) {
	c := Defaults()
	c.Set("myhostname", "mx.example.com")
	for b.Loop() {
		c.Get("proxy_read_maps")
	}
}
