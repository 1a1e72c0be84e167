package smtpd

import (
	"crypto/tls"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestReceivedGolden(t *testing.T) {
	date := time.Date(2026, 11, 2, 11, 7, 19, 0, time.UTC)
	cases := map[string]receivedParams{
		"one-rcpt": {helo: "client.example.test", name: "localhost", addr: "127.0.0.1", host: "mx.example.test",
			mailName: "Postern", proto: "ESMTP", queueID: "4jXRDB400qz1SCHg", rcpt: "bob@mx.example.test", date: date},
		"many-rcpts": {helo: "client.example.test", name: "unknown", addr: "IPv6:2001:db8::1", host: "mx.example.test",
			mailName: "Postern", proto: "SMTP", queueID: "4jXRDB400qz1SCHg", date: date},
		"tls": {helo: "client.example.test", name: "localhost", addr: "127.0.0.1", host: "mx.example.test", mailName: "Postern",
			proto: "ESMTPS", queueID: "4jXRDB400qz1SCHg", rcpt: "bob@mx.example.test", date: date,
			tls: &tls.ConnectionState{Version: tls.VersionTLS13, CipherSuite: tls.TLS_AES_256_GCM_SHA384}},
		"no-helo-no-id": {name: "localhost", addr: "127.0.0.1", host: "mx.example.test", mailName: "Postern", proto: "ESMTP", date: date},
	}
	for name, p := range cases {
		got := appendReceived(nil, p)
		file := filepath.Join("testdata", "received-"+name+".golden")
		if *update {
			if err := os.WriteFile(file, got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(file)
		if err != nil {
			t.Fatalf("%v (run with -update)", err)
		}
		if string(got) != string(want) {
			t.Errorf("%s:\n%s\nwant:\n%s", name, got, want)
		}
	}
}
