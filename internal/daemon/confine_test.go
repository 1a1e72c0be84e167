package daemon

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/maillog"
	"github.com/postern-mta/postern/internal/maps"
)

func TestConfinementFromEnv(t *testing.T) {
	tests := []struct {
		chroot, drop string
		want         confinement
		err          string
	}{
		{"", "", confinement{}, ""},
		{"/var/spool/postern", "", confinement{root: "/var/spool/postern"}, ""},
		{"/q", "105:112", confinement{root: "/q", drop: true, uid: 105, gid: 112}, ""},
		{"q", "", confinement{}, "not an absolute path"},
		{"/q", "0:0", confinement{}, "other than root"},
		{"/q", "105", confinement{}, "want uid:gid"},
		{"/q", "postern:postern", confinement{}, "want uid:gid"},
	}
	for _, tt := range tests {
		t.Setenv(EnvChroot, tt.chroot)
		t.Setenv(EnvDrop, tt.drop)
		got, err := confinementFromEnv()
		switch {
		case tt.err != "":
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%q %q: error %v, want %q", tt.chroot, tt.drop, err, tt.err)
			}
		case err != nil:
			t.Errorf("%q %q: %v", tt.chroot, tt.drop, err)
		case got != tt.want:
			t.Errorf("%q %q: %+v, want %+v", tt.chroot, tt.drop, got, tt.want)
		}
	}
}

func TestConfineFailure(t *testing.T) {
	c := confinement{root: filepath.Join(t.TempDir(), "missing")}
	if err := c.apply(); err == nil || !strings.Contains(err.Error(), "chroot to") {
		t.Errorf("apply with a missing directory: %v", err)
	}
	if wd, _ := os.Getwd(); strings.HasSuffix(wd, "missing") {
		t.Error("the working directory changed")
	}
}

// helperEnv runs TestConfinedHelper in a child process.
const helperEnv = "POSTERN_TEST_CONFINED_HELPER"

// A confined daemon runs inside the jail as the account it was given,
// keeps the tables it opened before, and restarts when one of their files
// changes. The confinement happens in a child process of the test.
func TestConfined(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	jail := t.TempDir()
	os.Chmod(jail, 0o755)
	if err := os.WriteFile(filepath.Join(jail, "inside"), []byte("in"), 0o644); err != nil {
		t.Fatal(err)
	}
	tables := t.TempDir()
	table := filepath.Join(tables, "access")
	if err := os.WriteFile(table, []byte("example.test OK\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestConfinedHelper$", "-test.v")
	// A time zone from /usr/share/zoneinfo, out of the jail's reach: it is
	// loaded before the chroot.
	zone := "UTC"
	if _, err := os.Stat("/usr/share/zoneinfo/Asia/Tokyo"); err == nil {
		zone = "JST"
	}
	cmd.Env = append(os.Environ(), helperEnv+"="+table, EnvChroot+"="+jail, EnvDrop+"=65534:65534", "TZ=Asia/Tokyo")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	expect := func(want string) {
		t.Helper()
		timeout := time.After(10 * time.Second)
		for {
			select {
			case line, ok := <-lines:
				if !ok {
					t.Fatalf("helper ended before %q", want)
				}
				if strings.Contains(line, want) {
					return
				}
				if strings.Contains(line, "FAIL") || strings.Contains(line, "fatal") {
					t.Fatalf("helper: %s", line)
				}
			case <-timeout:
				t.Fatalf("no %q from the helper", want)
			}
		}
	}
	expect("confined: uid 65534 gid 65534 groups [] cwd / inside true outside false")
	expect("lookup after chroot: OK")
	expect("time zone " + zone)
	// The table changes on the real file system: the daemon cannot read
	// it, so it restarts.
	if err := os.WriteFile(table+".tmp", []byte("example.test REJECT\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(table+".tmp", table); err != nil {
		t.Fatal(err)
	}
	expect("table texthash:" + table + " has changed -- restarting")
	expect("master hears: restart")
	if err := cmd.Wait(); err != nil {
		t.Errorf("helper: %v", err)
	}
}

// TestConfinedHelper is the child of TestConfined.
func TestConfinedHelper(t *testing.T) {
	table := os.Getenv(helperEnv)
	if table == "" {
		t.Skip("run by TestConfined")
	}
	c, err := confinementFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	tab, err := maps.Open("texthash:"+table, maps.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	// The status socket, with master's end here.
	masterEnd, status, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	heard := make(chan string, 2)
	go func() {
		sc := bufio.NewScanner(masterEnd)
		for sc.Scan() {
			fmt.Printf("master hears: %s\n", sc.Text())
			heard <- sc.Text()
		}
	}()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	env := &Env{Log: maillog.New(os.Stdout, "postern", "test", 1), confine: c, stop: cancel, status: status}
	env.Ready()
	if got := <-heard; got != MsgReady {
		t.Fatalf("master heard %q first", got)
	}
	groups, _ := syscall.Getgroups()
	wd, _ := os.Getwd()
	_, inErr := os.Stat("/inside")
	_, outErr := os.Stat(table)
	fmt.Printf("confined: uid %d gid %d groups %v cwd %s inside %v outside %v\n",
		syscall.Geteuid(), syscall.Getegid(), groups, wd, inErr == nil, outErr == nil)
	v, _, err := tab.Lookup(ctx, "example.test")
	fmt.Printf("lookup after chroot: %s %v\n", v, err)
	name, _ := time.Now().Zone()
	fmt.Printf("time zone %s\n", name)
	select {
	case got := <-heard:
		if got != MsgRestart {
			t.Fatalf("master heard %q, want %q", got, MsgRestart)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no restart after the table changed")
	}
	if ctx.Err() != nil {
		t.Error("the daemon stopped itself; master was to replace it")
	}
	if v, _, _ := tab.Lookup(context.Background(), "example.test"); v != "OK" {
		t.Errorf("lookup after the change: %q, want the loaded version", v)
	}
}
