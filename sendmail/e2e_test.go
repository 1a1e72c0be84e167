package sendmail_test

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/mtatest"
	"github.com/postern-mta/postern/queue"
)

// The end-to-end scenarios run the real binaries: sendmail, postdrop,
// and a mail system (master, pickup, cleanup, qmgr, smtp) that relays
// everything to an SMTP sink on loopback.

func newInstance(t *testing.T) (*mtatest.Instance, *mtatest.Sink) {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	in := mtatest.New(t)
	sink := mtatest.NewSink(t)
	in.Set("relayhost", "["+strings.Replace(sink.Addr, ":", "]:", 1))
	in.Set("mydestination", "")
	in.Set("myorigin", "mx.example.test")
	in.Set("alias_maps", "")
	in.Set("alias_database", "")
	in.Set("local_recipient_maps", "")
	return in, sink
}

func waitMessages(t *testing.T, sink *mtatest.Sink, n int) []mtatest.SinkMessage {
	t.Helper()
	mtatest.WaitFor(t, 20*time.Second, "messages at the sink", func() bool { return sink.Count() >= n })
	return sink.Messages()
}

func header(msg, name string) string {
	head, _, _ := strings.Cut(strings.ReplaceAll(msg, "\r\n", "\n"), "\n\n")
	re := regexp.MustCompile(`(?mi)^` + regexp.QuoteMeta(name) + `:[ \t]*(.*(\n[ \t].*)*)`)
	m := re.FindStringSubmatch(head)
	if m == nil {
		return ""
	}
	return m[1]
}

// sendmail -t with the mail system running: the message is delivered
// with From:, Date: and Message-Id: added, bare names completed, Bcc:
// gone, and pickup's Received: header on top.
func TestSendmailT(t *testing.T) {
	in, sink := newInstance(t)
	in.Start()
	t.Run("t", func(t *testing.T) { sendmailT(t, in, sink) })
	t.Run("bs", func(t *testing.T) { sendmailBS(t, in, sink) })
}

func sendmailT(t *testing.T, in *mtatest.Instance, sink *mtatest.Sink) {
	res := in.RunInput("To: bob@remote.test, carol\nBcc: dave@remote.test\nSubject: hello\n\nbody line\n.\nnot sent\n",
		"sendmail", "-t", "-F", "Alice Liddell", "-f", "alice")
	if res.Exit != 0 {
		t.Fatalf("sendmail: exit %d: %s", res.Exit, res.Stderr)
	}
	waitAll := func() bool {
		n := 0
		for _, m := range sink.Messages() {
			n += len(m.To)
		}
		return n >= 3
	}
	mtatest.WaitFor(t, 20*time.Second, "three recipients", waitAll)
	var rcpts []string
	for _, m := range sink.Messages() {
		rcpts = append(rcpts, m.To...)
	}
	sort.Strings(rcpts)
	if got := strings.Join(rcpts, ","); got != "bob@remote.test,carol@mx.example.test,dave@remote.test" {
		t.Errorf("recipients %s", got)
	}
	m := sink.Messages()[0]
	data := string(m.Data)
	if m.From != "alice@mx.example.test" {
		t.Errorf("envelope sender %q", m.From)
	}
	checks := map[string]string{
		"From":       "Alice Liddell <alice@mx.example.test>",
		"To":         "bob@remote.test, carol@mx.example.test",
		"Subject":    "hello",
		"Bcc":        "",
		"Message-Id": `<[0-9A-Za-z]+@mx\.example\.test>`,
		"Date":       `^[A-Z][a-z]{2}, [ 0-9]\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d [-+]\d{4} \(.+\)$`,
		"Received":   `^by mx\.example\.test \(Postern, from userid \d+\)\n\tid [0-9A-Za-z]+; `,
	}
	for name, want := range checks {
		got := header(data, name)
		if ok, _ := regexp.MatchString(want, got); !ok && got != want {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}
	if !strings.Contains(data, "\r\n\r\nbody line\r\n") || strings.Contains(data, "not sent") {
		t.Errorf("body:\n%s", data)
	}
	in.WaitLog(`postern/pickup\[\d+\]: [0-9A-Za-z]+: uid=\d+ from=<alice>`, 5*time.Second)
	in.WaitLog(`postern/cleanup\[\d+\]: [0-9A-Za-z]+: message-id=<[0-9A-Za-z]+@mx\.example\.test>`, 5*time.Second)
	pickupLogsFirst(t, in, "alice")
}

// pickupLogsFirst checks the log's order for sender's message, as in
// Postfix's: pickup's "uid= from=" line, then cleanup's "message-id=".
func pickupLogsFirst(t *testing.T, in *mtatest.Instance, sender string) {
	t.Helper()
	in.WaitLog(`postern/cleanup\[\d+\]: [0-9A-Za-z]+: message-id=`, 5*time.Second)
	logText, _ := os.ReadFile(in.LogFile)
	pl := regexp.MustCompile(`postern/pickup\[\d+\]: ([0-9A-Za-z]+): uid=\d+ from=<` + regexp.QuoteMeta(sender) + `>`).FindSubmatchIndex(logText)
	if pl == nil {
		t.Fatalf("no pickup line for <%s> in the log", sender)
	}
	id := string(logText[pl[2]:pl[3]])
	cl := regexp.MustCompile(`postern/cleanup\[\d+\]: ` + id + `: message-id=`).FindIndex(logText)
	if cl == nil || cl[0] < pl[0] {
		t.Errorf("cleanup's message-id line for %s is missing or comes before pickup's uid= line", id)
	}
}

// With the mail system stopped the message waits in maildrop/ and goes
// out once it starts.
func TestSendmailMasterStopped(t *testing.T) {
	in, sink := newInstance(t)
	in.WriteConfig()
	if r := in.Run("postfix", "check"); r.Exit != 0 {
		t.Fatalf("postfix check: %s", r.Stderr)
	}
	res := in.RunInput("Subject: waiting\n\nbody\n", "sendmail", "bob@remote.test")
	if res.Exit != 0 {
		t.Fatalf("sendmail: exit %d: %s", res.Exit, res.Stderr)
	}
	var files []string
	filepath.Walk(filepath.Join(in.QueueDir, queue.Maildrop), func(p string, fi os.FileInfo, err error) error { //nolint:errcheck
		if err == nil && fi.Mode().IsRegular() {
			files = append(files, p)
		}
		return nil
	})
	if len(files) != 1 || !queue.ValidID(filepath.Base(files[0])) {
		t.Fatalf("maildrop holds %v", files)
	}
	in.Start()
	msgs := waitMessages(t, sink, 1)
	if header(string(msgs[0].Data), "Subject") != "waiting" {
		t.Errorf("got %q", msgs[0].Data)
	}
	pickupLogsFirst(t, in, "root")
	mtatest.WaitFor(t, 5*time.Second, "maildrop emptied", func() bool {
		_, err := os.Stat(files[0])
		return os.IsNotExist(err)
	})
}

// sendmail -bs speaks SMTP on its standard input and output.
func sendmailBS(t *testing.T, in *mtatest.Instance, sink *mtatest.Sink) {
	before := sink.Count()
	session := "EHLO client.example.test\r\nMAIL FROM:<alice@remote.test>\r\nRCPT TO:<bob@remote.test>\r\nDATA\r\nSubject: bs\r\n\r\nbody\r\n.\r\nNOOP\r\nNOOP\r\nQUIT\r\n"
	res := in.RunInput(session, "sendmail", "-bs")
	if res.Exit != 0 || !strings.Contains(res.Stdout, "250 2.0.0 Ok") || !strings.Contains(res.Stdout, "221 2.0.0") {
		t.Fatalf("sendmail -bs: exit %d\nstdout:\n%s\nstderr:\n%s", res.Exit, res.Stdout, res.Stderr)
	}
	// The smtpd it runs logs to the mail log, not to the user's terminal
	// (the two NOOPs tell its disconnect line from other sessions').
	if strings.Contains(res.Stderr, "smtpd[") {
		t.Errorf("sendmail -bs wrote log lines to standard error:\n%s", res.Stderr)
	}
	in.WaitLog(`postern/smtpd\[\d+\]: disconnect from \S+ ehlo=1 mail=1 rcpt=1 data=1 noop=2 quit=1 commands=7`, 5*time.Second)
	msgs := waitMessages(t, sink, before+1)
	if m := msgs[len(msgs)-1]; header(string(m.Data), "Subject") != "bs" || m.From != "alice@remote.test" {
		t.Errorf("got %+v", m)
	}
}

// The failures sendmail reports itself, with Postfix's words and
// EX_TEMPFAIL.
func TestSendmailFatal(t *testing.T) {
	in, _ := newInstance(t)
	in.WriteConfig()
	in.Set("message_size_limit", "1000")
	in.WriteConfig()
	if r := in.Run("postfix", "check"); r.Exit != 0 {
		t.Fatalf("postfix check: %s", r.Stderr)
	}
	if err := os.WriteFile(in.LogFile, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args  []string
		stdin string
		want  string
	}{
		{[]string{"-Z"}, "", "sendmail: invalid option -- 'Z'\nsendmail: fatal: usage: sendmail [options]\n"},
		{nil, "Subject: x\n\n", "sendmail: fatal: Recipient addresses must be specified on the command line or via the -t option\n"},
		{[]string{"-t", "-f", "root"}, "Subject: x\n\nbody\n", "sendmail: fatal: root(" + itoa(os.Getuid()) + "): No recipient addresses found in message header\n"},
		{[]string{"-f", "root", "bob"}, "Subject: x\n\n" + strings.Repeat("x", 2000) + "\n", "sendmail: fatal: root(" + itoa(os.Getuid()) + "): message file too big\n"},
	} {
		res := in.RunInput(tc.stdin, "sendmail", tc.args...)
		if res.Exit != 75 || res.Stderr != tc.want {
			t.Errorf("sendmail %q: exit %d, stderr %q; want 75, %q", tc.args, res.Exit, res.Stderr, tc.want)
		}
	}
	// As Postfix's sendmail, it logs its fatal errors to the mail log too
	// (master, not running here, would have made the file).
	in.WaitLog(`postern/sendmail\[\d+\]: fatal: Recipient addresses must be specified on the command line or via the -t option`, 5*time.Second)
	entries, _ := os.ReadDir(filepath.Join(in.QueueDir, queue.Maildrop))
	if len(entries) != 0 {
		t.Errorf("maildrop not empty: %v", entries)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
