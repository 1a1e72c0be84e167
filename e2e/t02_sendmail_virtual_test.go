package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// t02: "sendmail -t" takes the recipients from the headers; mail for a
// virtual mailbox domain lands in the mailbox's Maildir (new/, a
// Maildir file name, owned by the mapped uid), with Return-Path: and
// Delivered-To:, Bcc: removed, and the headers sendmail and cleanup add.
func TestT02SendmailToVirtualMaildir(t *testing.T) {
	t.Parallel()
	in := newInstance(t)
	base := filepath.Join(in.Dir, "vmail")
	uid, gid := os.Getuid(), os.Getgid()
	if root {
		uid, gid = 40001, 40001 // virtual(8) refuses to deliver as root
	}
	if err := os.MkdirAll(filepath.Join(base, "virt.test"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.Chown(filepath.Join(base, "virt.test"), uid, gid)
	in.Set("virtual_mailbox_domains", "virt.test")
	in.Set("virtual_mailbox_base", base)
	in.Set("virtual_mailbox_maps", "inline:{{bob@virt.test=virt.test/bob/}, {carol@virt.test=virt.test/carol/}}")
	in.Set("virtual_uid_maps", "static:"+strconv.Itoa(uid))
	in.Set("virtual_gid_maps", "static:"+strconv.Itoa(gid))
	in.Set("virtual_minimum_uid", "100")
	in.Start()

	res := in.RunInput("To: Bob <bob@virt.test>\nBcc: carol@virt.test\nSubject: t02\n\nhello from sendmail\n",
		"sendmail", "-t", "-f", "alice@client.example.test")
	if res.Exit != 0 || res.Stdout != "" || res.Stderr != "" {
		t.Fatalf("sendmail -t: exit %d, stdout %q, stderr %q", res.Exit, res.Stdout, res.Stderr)
	}
	for _, rcpt := range []string{"bob", "carol"} {
		in.WaitLog(`postern/virtual\[\d+\]: \w+: to=<`+rcpt+`@virt\.test>, relay=virtual, delay=[\d.]+, delays=[\d./]+, dsn=2\.0\.0, status=sent \(delivered to maildir\)`, 20*time.Second)
	}
	in.WaitLog(`postern/pickup\[\d+\]: \w+: uid=\d+ from=<alice@client\.example\.test>`, time.Second)

	for _, rcpt := range []string{"bob", "carol"} {
		files := waitGlob(t, filepath.Join(base, "virt.test", rcpt, "new", "*"), 1)
		name := filepath.Base(files[0])
		if !regexp.MustCompile(`^\d+\.V[0-9a-f]+I[0-9a-f]+M\d+\.\S+$`).MatchString(name) {
			t.Errorf("Maildir file name %q is not <sec>.V<dev>I<ino>M<usec>.<host>", name)
		}
		got := readFile(t, files[0])
		for _, want := range []string{
			`^Return-Path: <alice@client\.example\.test>\n`,
			`\nDelivered-To: ` + rcpt + `@virt\.test\n`,
			`\nReceived: by mx\.example\.test \(Postern, from userid \d+\)\n\tid \w+; `,
			`\nTo: Bob <bob@virt\.test>\n`,
			`\nFrom: .*alice@client\.example\.test>?\n`,
			`\nDate: `,
			`\nMessage-Id: <[^>]+@mx\.example\.test>\n`,
			`\n\nhello from sendmail\n$`,
		} {
			if !regexp.MustCompile(want).MatchString(got) {
				t.Errorf("%s's message lacks %s:\n%s", rcpt, want, got)
			}
		}
		if strings.Contains(got, "Bcc:") {
			t.Errorf("Bcc: was delivered to %s:\n%s", rcpt, got)
		}
		fi, err := os.Stat(files[0])
		if err != nil {
			t.Fatal(err)
		}
		if st := fi.Sys().(*syscall.Stat_t); int(st.Uid) != uid {
			t.Errorf("%s's message belongs to uid %d, want %d", rcpt, st.Uid, uid)
		}
		if tmp, _ := filepath.Glob(filepath.Join(base, "virt.test", rcpt, "tmp", "*")); len(tmp) != 0 {
			t.Errorf("left in tmp/: %v", tmp)
		}
	}
}
