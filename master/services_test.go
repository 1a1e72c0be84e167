package master

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/postern-mta/postern/internal/config"
)

func TestInetAddrs(t *testing.T) {
	tests := []struct {
		name       string
		interfaces []string
		protocols  string
		want       []string
	}{
		{"127.0.0.1:2525", []string{"all"}, "all", []string{"127.0.0.1:2525"}},
		{"[::1]:2525", []string{"all"}, "all", []string{"[::1]:2525"}},
		{"2525", []string{"192.0.2.1", "192.0.2.2"}, "ipv4", []string{"192.0.2.1:2525", "192.0.2.2:2525"}},
		{"smtp", []string{"all"}, "ipv4", []string{"0.0.0.0:25"}},
		{"submission", []string{"127.0.0.1"}, "ipv4", []string{"127.0.0.1:587"}},
		{"*:2525", []string{"loopback-only"}, "ipv4", []string{"127.0.0.1:2525"}},
	}
	for _, tt := range tests {
		got, err := inetAddrs(tt.name, tt.interfaces, tt.protocols)
		if err != nil {
			t.Errorf("inetAddrs(%q): %v", tt.name, err)
			continue
		}
		if strings.Join(got, " ") != strings.Join(tt.want, " ") {
			t.Errorf("inetAddrs(%q, %v) = %v, want %v", tt.name, tt.interfaces, got, tt.want)
		}
	}
	if _, err := inetAddrs("nosuchservice", []string{"all"}, "all"); err == nil {
		t.Error("unknown service name accepted")
	}
	if _, err := inetAddrs("70000", []string{"all"}, "all"); err == nil {
		t.Error("port 70000 accepted")
	}
}

// A stock Postfix master.cf starts with one warning per service Postern
// does its own way or lacks, and keeps every service it implements.
func TestStockPostfixServices(t *testing.T) {
	data, err := os.ReadFile("testdata/postfix-stock.cf")
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(string(data), "SMTPADDR", "127.0.0.1:2525", 1)
	entries, err := config.ParseMaster("master.cf", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	cfg := &Config{QueueDir: "/q", InetInterfaces: []string{"all"}, InetProtocols: "ipv4", DefaultProcessLimit: 100, Root: true}
	var warnings []string
	svcs, err := buildServices(cfg, entries, func(f string, a ...any) {
		warnings = append(warnings, fmt.Sprintf(f, a...))
	})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range svcs {
		names = append(names, s.String())
	}
	want := "127.0.0.1:2525/inet pickup/unix cleanup/unix qmgr/unix bounce/unix defer/unix trace/unix smtp/unix relay/unix showq/unix error/unix retry/unix discard/unix local/unix virtual/unix lmtp/unix"
	if got := strings.Join(names, " "); got != want {
		t.Errorf("services:\n got %s\nwant %s", got, want)
	}
	for _, skipped := range []string{"tlsmgr", "trivial-rewrite", "verify", "flush", "proxymap", "anvil", "scache", "postlog", "maildrop", "uucp"} {
		n := 0
		for _, w := range warnings {
			if strings.Contains(w, skipped) {
				n++
			}
		}
		if n == 0 {
			t.Errorf("no warning names %s; warnings: %q", skipped, warnings)
		}
	}
	var chrooted []string
	for _, s := range svcs {
		if s.chroot {
			chrooted = append(chrooted, s.String())
		}
	}
	wantChroot := "127.0.0.1:2525/inet pickup/unix cleanup/unix bounce/unix defer/unix trace/unix smtp/unix relay/unix showq/unix error/unix retry/unix discard/unix lmtp/unix"
	if got := strings.Join(chrooted, " "); got != wantChroot {
		t.Errorf("chrooted services:\n got %s\nwant %s", got, wantChroot)
	}
	for _, w := range warnings {
		if strings.Contains(w, "chroot") {
			t.Errorf("chroot warning for the stock master.cf as root: %s", w)
		}
	}
	for _, s := range svcs {
		if s.Name == "pickup" && (s.maxProc != 1 || s.Wakeup != 60) {
			t.Errorf("pickup maxproc %d wakeup %d", s.maxProc, s.Wakeup)
		}
		if s.Name == "smtp" && s.Type == "unix" && s.maxProc != 100 {
			t.Errorf("smtp maxproc %d, want default_process_limit", s.maxProc)
		}
		if s.Name == "cleanup" && s.maxProc != 0 {
			t.Errorf("cleanup maxproc %d, want 0 (no limit)", s.maxProc)
		}
		if s.Name == "showq" && s.addrs[0] != "/q/public/showq" {
			t.Errorf("showq socket %v", s.addrs)
		}
		if s.Name == "smtp" && s.Type == "unix" && s.addrs[0] != "/q/private/smtp" {
			t.Errorf("smtp socket %v", s.addrs)
		}
	}
}

func TestLogPrefix(t *testing.T) {
	for line, want := range map[string]bool{
		"postern/smtpd[12]: connect from x":      true,
		"postern[1]: x":                          true,
		"panic: runtime error":                   false,
		"goroutine 1 [running]:":                 false,
		"postern/smtpd[]: x":                     false,
		"a b[12]: x":                             false,
		"postern/submission/smtpd[99]: x [1]: y": true,
	} {
		if got := hasLogPrefix([]byte(line)); got != want {
			t.Errorf("hasLogPrefix(%q) = %v", line, got)
		}
	}
}

func TestBackoff(t *testing.T) {
	if d := backoff(1, 0); d != 50e6 {
		t.Errorf("first restart after %v", d)
	}
	if d := backoff(30, 0); d != 10e9 {
		t.Errorf("backoff not capped: %v", d)
	}
	if d := backoff(5, 2*60e9); d != 0 {
		t.Errorf("a long-lived child waits %v", d)
	}
}

// chroot y is honoured as root for every daemon but local, virtual, pipe
// and spawn (one warning each); an ordinary user's master runs every
// service unchrooted, with one warning.
func TestChrootColumn(t *testing.T) {
	text := `smtp      inet  n       -       y       -       -       smtpd
qmgr      unix  n       -       y       300     1       qmgr
local     unix  -       n       y       -       -       local
virtual   unix  -       n       y       -       -       virtual
spawn     unix  -       n       y       -       -       spawn user=nobody argv=/bin/true
cleanup   unix  n       -       n       -       0       cleanup
`
	entries, err := config.ParseMaster("master.cf", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		root     bool
		chrooted string
		warnings []string
	}{
		{true, "smtp/inet qmgr/unix", []string{
			"master.cf: line 3: service local/unix (local): chroot y ignored: local starts commands and writes mailboxes on the real file system, so it always runs unchrooted",
			"master.cf: line 4: service virtual/unix (virtual): chroot y ignored: virtual starts commands and writes mailboxes on the real file system, so it always runs unchrooted",
			"master.cf: line 5: service spawn/unix (spawn): chroot y ignored: spawn starts commands and writes mailboxes on the real file system, so it always runs unchrooted",
		}},
		{false, "", []string{
			"chroot needs root privileges: smtp/inet, qmgr/unix, local/unix, virtual/unix, spawn/unix run unchrooted",
		}},
	}
	for _, tt := range tests {
		cfg := &Config{QueueDir: "/q", InetInterfaces: []string{"127.0.0.1"}, InetProtocols: "ipv4", Root: tt.root}
		var warnings []string
		svcs, err := buildServices(cfg, entries, func(f string, a ...any) {
			warnings = append(warnings, fmt.Sprintf(f, a...))
		})
		if err != nil {
			t.Fatal(err)
		}
		var chrooted []string
		for _, s := range svcs {
			if s.chroot {
				chrooted = append(chrooted, s.String())
			}
		}
		if got := strings.Join(chrooted, " "); got != tt.chrooted {
			t.Errorf("root %v: chrooted %q, want %q", tt.root, got, tt.chrooted)
		}
		if strings.Join(warnings, "\n") != strings.Join(tt.warnings, "\n") {
			t.Errorf("root %v: warnings\n%s\nwant\n%s", tt.root, strings.Join(warnings, "\n"), strings.Join(tt.warnings, "\n"))
		}
	}
}
