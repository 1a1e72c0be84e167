package smtp

import (
	"crypto/tls"
	"strings"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/mtatest"
	"github.com/postern-mta/postern/internal/proto"
)

// tlsSink is a sink offering STARTTLS with a certificate for names.
func tlsSink(t *testing.T, ca *mtatest.TestCA, addr string, names ...string) *mtatest.OptSink {
	cert := ca.Cert(t, names...)
	return mtatest.NewSinkWith(t, mtatest.SinkOptions{Addr: addr, TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}}})
}

func TestSTARTTLSOpportunistic(t *testing.T) {
	ca := mtatest.NewTestCA(t)
	sink := tlsSink(t, ca, "", "127.0.0.1")
	cfg := testConfig(t)
	cfg.TLS = TLSConfig{Level: tlsMay, MinVersion: tls.VersionTLS12, LogLevel: 1}
	ta := startAgent(t, cfg)
	reply, _ := ta.send(t, "[127.0.0.1]:"+port(sink.Addr), simpleMessage, "bob@remote.test")
	if r := reply.Results[0]; r.Action != proto.ActionRelayed {
		t.Fatalf("result = %+v", r)
	}
	if m := sink.Mails(); len(m) != 1 || !m[0].TLS {
		t.Errorf("message not sent over TLS: %+v", m)
	}
	ta.logLine(t, `Untrusted TLS connection established to 127\.0\.0\.1\[127\.0\.0\.1\]:\d+: TLSv1\.3 with cipher \S+ \(\d+/\d+ bits\)`)
	// Not offered: plain text.
	plain := mtatest.NewSinkWith(t, mtatest.SinkOptions{})
	reply, _ = ta.send(t, "[127.0.0.1]:"+port(plain.Addr), simpleMessage, "bob@remote.test")
	if r := reply.Results[0]; r.Action != proto.ActionRelayed {
		t.Fatalf("result without STARTTLS = %+v", r)
	}
}

func TestSTARTTLSHandshakeFailureFallsBack(t *testing.T) {
	ca := mtatest.NewTestCA(t)
	cert := ca.Cert(t, "127.0.0.1")
	// A server stuck at TLS 1.0 against a client that wants 1.2: the
	// handshake fails, and opportunistic TLS tries again in plain text.
	sink := mtatest.NewSinkWith(t, mtatest.SinkOptions{TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}, MaxVersion: tls.VersionTLS10}})
	cfg := testConfig(t)
	cfg.TLS = TLSConfig{Level: tlsMay, MinVersion: tls.VersionTLS12}
	ta := startAgent(t, cfg)
	reply, qid := ta.send(t, "[127.0.0.1]:"+port(sink.Addr), simpleMessage, "bob@remote.test")
	if r := reply.Results[0]; r.Action != proto.ActionRelayed {
		t.Fatalf("result = %+v", r)
	}
	if m := sink.Mails(); len(m) != 1 || m[0].TLS {
		t.Errorf("want one plain-text transaction, got %+v", m)
	}
	if sink.Conns() != 2 {
		t.Errorf("%d connections, want 2 (TLS, then plain)", sink.Conns())
	}
	ta.logLine(t, qid+`: Cannot start TLS: handshake failure; trying 127\.0\.0\.1\[127\.0\.0\.1\]:\d+ without TLS`)
}

func TestSTARTTLSRequired(t *testing.T) {
	plain := mtatest.NewSinkWith(t, mtatest.SinkOptions{})
	cfg := testConfig(t)
	cfg.TLS = TLSConfig{Level: tlsEncrypt, MinVersion: tls.VersionTLS12}
	ta := startAgent(t, cfg)
	reply, _ := ta.send(t, "[127.0.0.1]:"+port(plain.Addr), simpleMessage, "bob@remote.test")
	r := reply.Results[0]
	if r.Action != proto.ActionDelayed || r.Status.Enhanced != "4.7.4" || r.Reason != "TLS is required, but was not offered by host 127.0.0.1[127.0.0.1]" {
		t.Errorf("result = %+v", r)
	}
	if len(plain.Mails()) != 0 {
		t.Error("mail sent in plain text with TLS required")
	}
	// encrypt takes any certificate.
	ca := mtatest.NewTestCA(t)
	sink := tlsSink(t, ca, "", "unrelated.test")
	reply, _ = ta.send(t, "[127.0.0.1]:"+port(sink.Addr), simpleMessage, "bob@remote.test")
	if r := reply.Results[0]; r.Action != proto.ActionRelayed {
		t.Errorf("encrypt with an unverifiable certificate: %+v", r)
	}
}

func TestSTARTTLSVerify(t *testing.T) {
	ca := mtatest.NewTestCA(t)
	dns := mtatest.NewDNS(t)
	good := tlsSink(t, ca, "127.0.0.1:0", "mx.remote.test")
	bad := tlsSink(t, ca, "127.0.0.1:0", "someone-else.test")
	dns.Add(t, "mx.remote.test. 60 IN A 127.0.0.1")
	cfg := testConfig(t)
	cfg.DNS = DNSConfig{Servers: []string{dns.Addr}, Timeout: 2 * time.Second, Attempts: 1, UseDNS: true}
	cfg.TLS = TLSConfig{Level: tlsVerify, MinVersion: tls.VersionTLS12, CAFile: ca.WriteCAFile(t, shortTempDir(t)), Match: []string{"hostname"}, LogLevel: 1}
	ta := startAgent(t, cfg)

	reply, _ := ta.send(t, "[mx.remote.test]:"+port(good.Addr), simpleMessage, "bob@remote.test")
	if r := reply.Results[0]; r.Action != proto.ActionRelayed {
		t.Fatalf("verified server: %+v", r)
	}
	ta.logLine(t, `Verified TLS connection established to mx\.remote\.test\[127\.0\.0\.1\]`)

	reply, _ = ta.send(t, "[mx.remote.test]:"+port(bad.Addr), simpleMessage, "bob@remote.test")
	r := reply.Results[0]
	if r.Action != proto.ActionDelayed || r.Status.Enhanced != "4.7.5" || r.Reason != "Server certificate not verified" {
		t.Errorf("unverified server: %+v", r)
	}
	if len(bad.Mails()) != 0 {
		t.Error("mail sent to a server whose certificate did not match")
	}
}

func TestTLSProtocols(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want uint16
		err  bool
	}{
		{">=TLSv1", tls.VersionTLS10, false},
		{">=TLSv1.2", tls.VersionTLS12, false},
		{"!SSLv2, !SSLv3, !TLSv1, !TLSv1.1", tls.VersionTLS12, false},
		{"TLSv1.2 TLSv1.3", tls.VersionTLS12, false},
		{"", tls.VersionTLS10, false},
		{">=TLSv9", 0, true},
	} {
		got, err := parseTLSProtocols(strings.Fields(strings.ReplaceAll(tc.in, ",", " ")))
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("%q: %x, %v; want %x, error %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}
