package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/mtatest"
)

// t09: mailq on deferred mail shows what an administrator reads there:
// the message (queue ID, size, arrival time, sender), why it waits — once
// for recipients with the same reason, right-aligned — and each
// recipient, then the total; mailq, sendmail -bp and postqueue -p print
// the same listing. Once the destination is back and the queue flushed,
// "Mail queue is empty".
func TestT09MailqDeferred(t *testing.T) {
	t.Parallel()
	in := newInstance(t)
	port := in.RelayToClosedPort(t) // the relayhost, down for now
	in.Start()

	id := in.SubmitSMTP(t, "alice@client.example.test", []string{"bob@remote.test", "carol@remote.test"},
		"From: alice@client.example.test\r\nSubject: t09\r\n\r\nwaiting\r\n")
	e := in.WaitQueue(t, "the message deferred", map[string]string{id: "deferred"})[id]

	reason := fmt.Sprintf("(connect to 127.0.0.1[127.0.0.1]:%d: Connection refused)", port)
	arrival := time.Unix(e.ArrivalTime, 0).Format("Mon Jan _2 15:04:05")
	want := strings.Join([]string{
		"----Queue ID----- --Size-- ---Arrival Time---- --Sender/Recipient------",
		fmt.Sprintf("%-17s %8d %19.19s %s", id, e.MessageSize, arrival, "alice@client.example.test"),
		strings.Repeat(" ", max(76-len(reason)+2, 0)) + reason,
		strings.Repeat(" ", 47) + "bob@remote.test",
		strings.Repeat(" ", 47) + "carol@remote.test",
		"",
		fmt.Sprintf("-- %d Kbytes in 1 Request.", e.MessageSize/1024),
		"",
	}, "\n")
	for _, cmd := range [][]string{{"mailq"}, {"sendmail", "-bp"}, {"postqueue", "-p"}} {
		res := in.Run(cmd[0], cmd[1:]...)
		if res.Exit != 0 || res.Stderr != "" || res.Stdout != want {
			t.Errorf("%s: exit %d, stderr %q, listing:\n%s\nwant:\n%s", strings.Join(cmd, " "), res.Exit, res.Stderr, res.Stdout, want)
		}
	}

	sink := mtatest.NewSinkWith(t, mtatest.SinkOptions{Addr: fmt.Sprintf("127.0.0.1:%d", port)})
	if res := in.Run("postqueue", "-f"); res.Exit != 0 {
		t.Fatalf("postqueue -f: exit %d: %s", res.Exit, res.Stderr)
	}
	mtatest.WaitFor(t, 20*time.Second, "the message at the relayhost", func() bool { return sink.Count() == 1 })
	mtatest.WaitFor(t, 10*time.Second, "an empty queue in mailq", func() bool {
		return in.Run("mailq").Stdout == "Mail queue is empty\n"
	})
}
