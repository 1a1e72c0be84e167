package smtpd

import (
	"crypto/tls"
	"fmt"
	"strings"
)

// tlsDescription gives Postfix's "TLSv1.3 with cipher
// TLS_AES_256_GCM_SHA384 (256/256 bits)", with OpenSSL's cipher names.
func tlsDescription(cs *tls.ConnectionState) string {
	name, bits := cipherInfo(cs.CipherSuite)
	return fmt.Sprintf("%s with cipher %s (%d/%d bits)", tlsVersionName(cs.Version), name, bits, bits)
}

func tlsVersionName(v uint16) string {
	switch v {
	case tls.VersionTLS10:
		return "TLSv1"
	case tls.VersionTLS11:
		return "TLSv1.1"
	case tls.VersionTLS12:
		return "TLSv1.2"
	case tls.VersionTLS13:
		return "TLSv1.3"
	}
	return fmt.Sprintf("TLS(0x%04x)", v)
}

// openSSLNames maps Go's cipher suite names to the ones OpenSSL (and so
// Postfix's logs and headers) use.
var openSSLNames = map[uint16]string{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256:       "ECDHE-ECDSA-AES128-GCM-SHA256",
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384:       "ECDHE-ECDSA-AES256-GCM-SHA384",
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256:         "ECDHE-RSA-AES128-GCM-SHA256",
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384:         "ECDHE-RSA-AES256-GCM-SHA384",
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: "ECDHE-ECDSA-CHACHA20-POLY1305",
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256:   "ECDHE-RSA-CHACHA20-POLY1305",
	tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA:            "ECDHE-RSA-AES128-SHA",
	tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA:            "ECDHE-RSA-AES256-SHA",
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA:          "ECDHE-ECDSA-AES128-SHA",
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA:          "ECDHE-ECDSA-AES256-SHA",
	tls.TLS_RSA_WITH_AES_128_GCM_SHA256:               "AES128-GCM-SHA256",
	tls.TLS_RSA_WITH_AES_256_GCM_SHA384:               "AES256-GCM-SHA384",
	tls.TLS_RSA_WITH_AES_128_CBC_SHA:                  "AES128-SHA",
	tls.TLS_RSA_WITH_AES_256_CBC_SHA:                  "AES256-SHA",
}

func cipherInfo(id uint16) (string, int) {
	name, ok := openSSLNames[id]
	if !ok {
		name = tls.CipherSuiteName(id) // TLS 1.3 names are the same
	}
	bits := 128
	if strings.Contains(name, "256") || strings.Contains(name, "CHACHA20") {
		bits = 256
	}
	return name, bits
}

// tlsMinVersion reads smtpd_tls_protocols / smtpd_tls_mandatory_protocols:
// ">=TLSv1.2" or an exclusion list such as "!SSLv2, !SSLv3, !TLSv1".
// The lowest version not excluded is the minimum.
func tlsMinVersion(items []string) (uint16, error) {
	versions := []struct {
		name string
		v    uint16
	}{{"TLSv1", tls.VersionTLS10}, {"TLSv1.1", tls.VersionTLS11}, {"TLSv1.2", tls.VersionTLS12}, {"TLSv1.3", tls.VersionTLS13}}
	excluded := map[uint16]bool{}
	min := uint16(tls.VersionTLS10)
	for _, it := range items {
		switch {
		case strings.HasPrefix(it, ">="):
			found := false
			for _, v := range versions {
				if strings.EqualFold(v.name, it[2:]) {
					min, found = v.v, true
				}
			}
			if !found {
				return 0, fmt.Errorf("unknown TLS protocol %q", it)
			}
		case strings.HasPrefix(it, "!"):
			for _, v := range versions {
				if strings.EqualFold(v.name, it[1:]) {
					excluded[v.v] = true
				}
			}
		}
	}
	for _, v := range versions {
		if v.v >= min && !excluded[v.v] {
			return v.v, nil
		}
	}
	return tls.VersionTLS13, nil
}
