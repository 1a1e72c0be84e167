package smtpd_test

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/postern-mta/postern/internal/mtatest"
)

// The end-to-end scenarios run the real binaries (master, smtpd,
// cleanup, qmgr, smtp, qmqpd) through internal/mtatest and talk to them
// with real clients: swaks, Python's smtplib, go-smtp and a QMQP client.

type e2e struct {
	in       *mtatest.Instance
	strict   string // an smtpd whose mynetworks excludes the client
	qmqp     string
	sink     *mtatest.Sink
	certFile string
}

func startE2E(t *testing.T) *e2e {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	in := mtatest.New(t)
	e := &e2e{in: in, sink: mtatest.NewSink(t)}
	e.strict = fmt.Sprintf("127.0.0.1:%d", mtatest.FreePort(t))
	e.qmqp = fmt.Sprintf("127.0.0.1:%d", mtatest.FreePort(t))
	cert, key := writeCert(t, in.Dir)
	e.certFile = cert
	// The services these scenarios need (no local, virtual or lmtp).
	var mcf []string
	for _, l := range strings.Split(mtatest.DefaultMasterCF(in.SMTPAddr), "\n") {
		if f := strings.Fields(l); len(f) > 0 && (f[0] == "local" || f[0] == "virtual" || f[0] == "lmtp") {
			continue
		}
		mcf = append(mcf, l)
	}
	in.SetMasterCF(strings.Join(mcf, "\n") + "\n" +
		e.strict + " inet n - n - - smtpd -o mynetworks=10.0.0.0/8 -o smtpd_recipient_limit=3\n" +
		e.qmqp + " inet n - n - - qmqpd\n")
	in.Set("local_recipient_maps", "inline:{bob=1, alice=1}")
	in.Set("local_transport", "discard")
	in.Set("alias_maps", "")
	in.Set("relayhost", "["+strings.Replace(e.sink.Addr, ":", "]:", 1))
	in.Set("message_size_limit", "200000")
	in.Set("smtpd_tls_cert_file", cert)
	in.Set("smtpd_tls_key_file", key)
	in.Set("smtpd_tls_security_level", "may")
	in.Set("smtpd_tls_received_header", "yes")
	in.Set("qmqpd_authorized_clients", "127.0.0.0/8")
	in.Set("qmqpd_error_delay", "0s")
	in.Start()
	return e
}

// writeCert makes a self-signed certificate for mx.example.test.
func writeCert(t *testing.T, dir string) (string, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mx.example.test"},
		DNSNames: []string{"mx.example.test"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	cert, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o644)
	return cert, keyFile
}

// queued reports whether a file in the queue directories (temporary
// files included) holds marker.
func (e *e2e) queued(marker string) bool {
	found := false
	filepath.WalkDir(e.in.QueueDir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && d.Type().IsRegular() {
			if b, err := os.ReadFile(p); err == nil && strings.Contains(string(b), marker) {
				found = true
			}
		}
		return nil
	})
	return found
}

func TestE2E(t *testing.T) {
	e := startE2E(t)
	in := e.in
	t.Run("swaks", func(t *testing.T) {
		for _, pipe := range []bool{false, true} {
			args := []string{"--server", in.SMTPAddr, "--from", "alice@example.org", "--to", "bob@mx.example.test",
				"--helo", "client.example.test", "--body", "hello from swaks"}
			if pipe {
				args = append(args, "--pipeline")
			}
			out, err := exec.Command("swaks", args...).CombinedOutput()
			if err != nil || !strings.Contains(string(out), "250 2.0.0 Ok: queued as") {
				t.Fatalf("swaks %v: %v\n%s", args, err, out)
			}
			if pipe && !strings.Contains(string(out), "PIPELINING") {
				t.Fatalf("no PIPELINING:\n%s", out)
			}
		}
		in.WaitLog(`smtpd\[\d+\]: [0-9A-Za-z]+: client=localhost\[127\.0\.0\.1\]`, 5*time.Second)
		in.WaitLog(`disconnect from localhost\[127\.0\.0\.1\] ehlo=1 mail=1 rcpt=1 data=1 quit=1 commands=5`, 5*time.Second)
	})
	t.Run("python smtplib", func(t *testing.T) {
		script := fmt.Sprintf(`
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", %s)
s.ehlo("client.example.test")
try:
    s.sendmail("alice@example.org", ["nosuchuser@mx.example.test"], "Subject: x\r\n\r\nx\r\n")
except smtplib.SMTPRecipientsRefused as e:
    code, msg = e.recipients["nosuchuser@mx.example.test"]
    print(code, msg.decode())
r = s.sendmail("alice@example.org", ["bob@mx.example.test"], "Subject: py\r\n\r\nfrom python\r\n")
print("ok", r)
s.quit()
`, strings.Split(in.SMTPAddr, ":")[1])
		out, err := exec.Command("python3", "-c", script).CombinedOutput()
		if err != nil {
			t.Fatalf("python: %v\n%s", err, out)
		}
		want := "550 5.1.1 <nosuchuser@mx.example.test>: Recipient address rejected: User unknown in local recipient table"
		if !strings.Contains(string(out), want) || !strings.Contains(string(out), "ok {}") {
			t.Fatalf("python output:\n%s", out)
		}
		in.WaitLog(`NOQUEUE: reject: RCPT from localhost\[127\.0\.0\.1\]: `+strings.ReplaceAll(strings.ReplaceAll(want, ".", `\.`), "<", "<")+`; from=<alice@example\.org> to=<nosuchuser@mx\.example\.test> proto=ESMTP helo=<client\.example\.test>`, 5*time.Second)
	})
	t.Run("relay and limits", func(t *testing.T) {
		c, err := smtp.Dial(e.strict)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.Hello("client.example.test"); err != nil {
			t.Fatal(err)
		}
		if err := c.Mail("alice@example.org", nil); err != nil {
			t.Fatal(err)
		}
		wantErr(t, c.Rcpt("x@remote.test", nil), 454, "4.7.1 <x@remote.test>: Relay access denied")
		for _, r := range []string{"bob", "alice", "postmaster"} {
			if err := c.Rcpt(r+"@mx.example.test", nil); err != nil {
				t.Fatal(err)
			}
		}
		wantErr(t, c.Rcpt("bob@mx.example.test", nil), 452, "4.5.3 Error: too many recipients")
	})
	t.Run("size limit", func(t *testing.T) {
		c, err := smtp.Dial(in.SMTPAddr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.Hello("client.example.test")
		wantErr(t, c.Mail("alice@example.org", &smtp.MailOptions{Size: 300000}), 552, "5.3.4 Message size exceeds fixed limit")
		c.Reset()
		if err := c.Mail("alice@example.org", nil); err != nil {
			t.Fatal(err)
		}
		if err := c.Rcpt("bob@mx.example.test", nil); err != nil {
			t.Fatal(err)
		}
		w, err := c.Data()
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, "Subject: big-one\r\n\r\n"+strings.Repeat(strings.Repeat("x", 998)+"\r\n", 300))
		wantErr(t, w.Close(), 552, "5.3.4 Error: message file too big")
		// cleanup removes the aborted temporary file when it sees the
		// connection close.
		mtatest.WaitFor(t, 5*time.Second, "no trace of the refused message in the queue", func() bool { return !e.queued("Subject: big-one") })
	})
	t.Run("disconnect mid-DATA", func(t *testing.T) {
		conn, err := net.Dial("tcp", in.SMTPAddr)
		if err != nil {
			t.Fatal(err)
		}
		r := bufio.NewReader(conn)
		r.ReadString('\n')
		io.WriteString(conn, "HELO half.test\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<bob@mx.example.test>\r\nDATA\r\n")
		for i := 0; i < 4; i++ {
			r.ReadString('\n')
		}
		io.WriteString(conn, "Subject: half\r\n\r\nonly half of it")
		conn.Close()
		in.WaitLog(`lost connection after DATA \(\d+ bytes\) from localhost\[127\.0\.0\.1\]`, 5*time.Second)
		mtatest.WaitFor(t, 5*time.Second, "no trace of the half message in the queue", func() bool { return !e.queued("only half of it") })
	})
	t.Run("STARTTLS and relaying", func(t *testing.T) {
		c, err := smtp.DialStartTLS(in.SMTPAddr, &tls.Config{InsecureSkipVerify: true})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.SendMail("alice@example.org", []string{"carol@remote.test"}, strings.NewReader("Subject: tls\r\n\r\nover TLS\r\n")); err != nil {
			t.Fatal(err)
		}
		if cs, ok := c.TLSConnectionState(); !ok || cs.Version < tls.VersionTLS12 {
			t.Fatalf("no TLS: %+v", cs)
		}
		mtatest.WaitFor(t, 30*time.Second, "the relayed message at the sink", func() bool { return e.sink.Count() > 0 })
		data := string(e.sink.Messages()[0].Data)
		if !strings.Contains(data, "Received: from client.example.test (localhost [127.0.0.1])") &&
			!strings.Contains(data, "(localhost [127.0.0.1])\r\n\t(using TLSv1.3 with cipher") {
			t.Fatalf("relayed message:\n%s", data)
		}
		if !strings.Contains(data, "with ESMTPS id ") || !strings.Contains(data, "for <carol@remote.test>; ") {
			t.Fatalf("relayed message:\n%s", data)
		}
	})
	t.Run("QMQP", func(t *testing.T) {
		conn, err := net.Dial("tcp", e.qmqp)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		inner := netstring("Subject: qmqp\n\nvia qmqp\n") + netstring("alice@example.org") + netstring("bob@mx.example.test")
		io.WriteString(conn, netstring(inner))
		reply, _ := io.ReadAll(conn)
		if !strings.Contains(string(reply), ":KOk: queued as ") {
			t.Fatalf("QMQP reply %q", reply)
		}
		in.WaitLog(`qmqpd\[\d+\]: [0-9A-Za-z]+: client=localhost\[127\.0\.0\.1\]`, 5*time.Second)
	})
	t.Run("sendmail -bs", func(t *testing.T) {
		res := in.RunInput("EHLO local.test\r\nMAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@mx.example.test>\r\nDATA\r\nSubject: bs\r\n\r\nvia -bs\r\n.\r\nQUIT\r\n", "sendmail", "-bs")
		if res.Exit != 0 || !strings.Contains(res.Stdout, "250 2.0.0 Ok") || strings.Contains(res.Stdout, "STARTTLS") {
			t.Fatalf("sendmail -bs: exit %d\nstdout:\n%s\nstderr:\n%s", res.Exit, res.Stdout, res.Stderr)
		}
	})
}

func wantErr(t *testing.T, err error, code int, text string) {
	t.Helper()
	var se *smtp.SMTPError
	if !errors.As(err, &se) {
		t.Fatalf("got %v, want %d %s", err, code, text)
	}
	got := fmt.Sprintf("%d.%d.%d %s", se.EnhancedCode[0], se.EnhancedCode[1], se.EnhancedCode[2], se.Message)
	if se.Code != code || got != text {
		t.Fatalf("got %d %s, want %d %s", se.Code, got, code, text)
	}
}

func netstring(s string) string { return fmt.Sprintf("%d:%s,", len(s), s) }
