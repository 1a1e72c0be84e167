package smtp

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/postern-mta/postern/internal/proto"
)

// The benchmark's sink runs in a child process (this test binary again),
// so that the CPU time measured here is the agent's (and the qmgr-side
// clients'), not the receiving server's.
func TestMain(m *testing.M) {
	if os.Getenv("SMTP_BENCH_SINK") == "1" {
		childSink()
		return
	}
	os.Exit(m.Run())
}

// childSink serves SMTP on loopback, discarding messages, until its
// standard input closes.
func childSink() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	srv := smtp.NewServer(discardBackend{})
	srv.Domain = "sink.example.test"
	srv.MaxMessageBytes = 1 << 20
	srv.ReadTimeout, srv.WriteTimeout = time.Minute, time.Minute
	go srv.Serve(ln) //nolint:errcheck // ends with the process
	fmt.Println(ln.Addr())
	io.Copy(io.Discard, os.Stdin) //nolint:errcheck
}

type discardBackend struct{}

func (discardBackend) NewSession(*smtp.Conn) (smtp.Session, error) { return discardSession{}, nil }

type discardSession struct{}

func (discardSession) Mail(string, *smtp.MailOptions) error { return nil }
func (discardSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (discardSession) Data(r io.Reader) error {
	_, err := io.Copy(io.Discard, r)
	return err
}
func (discardSession) Reset()        {}
func (discardSession) Logout() error { return nil }

// startChildSink starts the sink process and returns its address.
func startChildSink(b *testing.B) string {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "SMTP_BENCH_SINK=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		stdin.Close()
		cmd.Wait() //nolint:errcheck
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || strings.HasPrefix(line, "error") {
		b.Fatalf("child sink: %q, %v", line, err)
	}
	return strings.TrimSpace(line)
}

// BenchmarkRelay relays 4 KB messages, one recipient each, from 20
// concurrent qmgr connections to a sink in another process, over cached
// sessions. cpu-µs/msg is this process's CPU time (the agent and the
// deliver-protocol clients) per message. BENCH_RATE=N paces the requests
// at N a second, as a disk-bound queue would (the runtime's cost per
// message grows when it idles between messages).
func BenchmarkRelay(b *testing.B) {
	addr := startChildSink(b)
	ta := startAgent(b, testConfig(b))
	body := "Subject: bench\n\n" + strings.Repeat(strings.Repeat("x", 76)+"\n", 4096/77)
	hop := "[127.0.0.1]:" + port(addr)
	rate, _ := strconv.Atoi(os.Getenv("BENCH_RATE"))
	const clients = 20
	qids := make([]string, clients)
	for i := range qids {
		qids[i] = ta.queueMessage(b, "alice@mx.example.test", []string{"bob@remote.test"}, body)
	}
	work := make(chan int, b.N)
	var ru0, ru1 syscall.Rusage
	b.ResetTimer()
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru0) //nolint:errcheck
	start := time.Now()
	var wg sync.WaitGroup
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := context.Background()
			dc, err := proto.DialDeliver(ctx, ta.sock)
			if err != nil {
				b.Error(err)
				return
			}
			defer dc.Close()
			for range work {
				r, err := dc.Deliver(ctx, request(qids[c], hop, "alice@mx.example.test", "bob@remote.test"), time.Minute)
				if err != nil || r.Results[0].Action != proto.ActionRelayed {
					b.Errorf("deliver: %v %+v", err, r)
					return
				}
			}
		}()
	}
	for i := range b.N {
		if rate > 0 {
			time.Sleep(time.Until(start.Add(time.Duration(i) * time.Second / time.Duration(rate))))
		}
		work <- i
	}
	close(work)
	wg.Wait()
	elapsed := time.Since(start)
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru1) //nolint:errcheck
	b.StopTimer()
	cpu := syscall.TimevalToNsec(ru1.Utime) - syscall.TimevalToNsec(ru0.Utime) +
		syscall.TimevalToNsec(ru1.Stime) - syscall.TimevalToNsec(ru0.Stime)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
	b.ReportMetric(float64(cpu)/1e3/float64(b.N), "cpu-µs/msg")
}
