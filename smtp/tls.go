package smtp

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// errNotVerified is a server certificate that did not pass the checks of
// the verify or secure level.
var errNotVerified = errors.New("server certificate not verified")

// tlsPolicy is the loaded TLS configuration: roots and client
// certificate read once at start.
type tlsPolicy struct {
	TLSConfig
	roots *x509.CertPool // nil: the system's
	certs []tls.Certificate
}

func newTLSPolicy(c TLSConfig) (*tlsPolicy, error) {
	p := &tlsPolicy{TLSConfig: c}
	if c.Level == tlsNone {
		return p, nil
	}
	if c.CAFile != "" || c.CAPath != "" {
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if c.CAFile != "" {
			if err := addPEM(pool, c.CAFile); err != nil {
				return nil, err
			}
		}
		if c.CAPath != "" {
			ents, err := os.ReadDir(c.CAPath)
			if err != nil {
				return nil, fmt.Errorf("read CA directory: %w", err)
			}
			for _, e := range ents {
				if e.Type().IsRegular() || e.Type()&os.ModeSymlink != 0 {
					addPEM(pool, filepath.Join(c.CAPath, e.Name())) //nolint:errcheck // other files may live there
				}
			}
		}
		p.roots = pool
	}
	if p.roots == nil && c.Level >= tlsVerify {
		// The system's roots, loaded now: Go reads them on first use,
		// which a chrooted smtp could not do.
		if pool, err := x509.SystemCertPool(); err == nil {
			p.roots = pool
		}
	}
	if c.CertFile != "" {
		key := c.KeyFile
		if key == "" {
			key = c.CertFile
		}
		cert, err := tls.LoadX509KeyPair(c.CertFile, key)
		if err != nil {
			return nil, fmt.Errorf("load client certificate %s: %w", c.CertFile, err)
		}
		p.certs = []tls.Certificate{cert}
	}
	return p, nil
}

func addPEM(pool *x509.CertPool, path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read CA file: %w", err)
	}
	if !pool.AppendCertsFromPEM(b) {
		return fmt.Errorf("CA file %s: no PEM certificates", path)
	}
	return nil
}

// config gives the tls.Config for one server: host is the server's name
// (the MX host), nexthop the destination domain.
func (p *tlsPolicy) config(host, nexthop string) *tls.Config {
	tc := &tls.Config{
		MinVersion:   p.MinVersion,
		Certificates: p.certs,
		// Verification is ours (below), by level: opportunistic and
		// encrypt-only TLS accept any certificate, as Postfix does.
		InsecureSkipVerify: true, //nolint:gosec // see above
	}
	switch p.ServerName {
	case "":
	case "hostname":
		tc.ServerName = host
	case "nexthop":
		tc.ServerName = nexthop
	default:
		tc.ServerName = p.ServerName
	}
	if p.Level >= tlsVerify {
		names := p.matchNames(host, nexthop)
		tc.VerifyConnection = func(cs tls.ConnectionState) error {
			return p.verify(cs, names)
		}
	}
	return tc
}

// matchNames expands smtp_tls_verify_cert_match / secure_cert_match.
// A name starting with "." matches any subdomain of it.
func (p *tlsPolicy) matchNames(host, nexthop string) []string {
	var out []string
	for _, m := range p.Match {
		switch strings.ToLower(m) {
		case "hostname":
			out = append(out, host)
		case "nexthop":
			out = append(out, nexthop)
		case "dot-nexthop":
			out = append(out, "."+nexthop)
		default:
			out = append(out, m)
		}
	}
	return out
}

// verify checks the chain against the roots and the leaf against names.
func (p *tlsPolicy) verify(cs tls.ConnectionState, names []string) error {
	if len(cs.PeerCertificates) == 0 {
		return errNotVerified
	}
	leaf := cs.PeerCertificates[0]
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: p.roots, Intermediates: inter}); err != nil {
		return fmt.Errorf("%w: %v", errNotVerified, err)
	}
	for _, n := range names {
		if n == "" {
			continue
		}
		if strings.HasPrefix(n, ".") {
			for _, san := range leaf.DNSNames {
				if strings.HasSuffix(strings.ToLower(san), strings.ToLower(n)) {
					return nil
				}
			}
			continue
		}
		if leaf.VerifyHostname(n) == nil {
			return nil
		}
	}
	return fmt.Errorf("%w: no name matches %s", errNotVerified, strings.Join(names, ", "))
}

// tlsSummary describes an established session for the log: "TLSv1.3 with
// cipher TLS_AES_128_GCM_SHA256 (128/128 bits)".
func tlsSummary(cs tls.ConnectionState) string {
	bits := 256
	name := tls.CipherSuiteName(cs.CipherSuite)
	if strings.Contains(name, "_128_") {
		bits = 128
	}
	return fmt.Sprintf("%s with cipher %s (%d/%d bits)", tlsVersionName(cs.Version), name, bits, bits)
}

func tlsVersionName(v uint16) string {
	for _, t := range tlsVersions {
		if t.v == v {
			return t.name
		}
	}
	return tls.VersionName(v)
}
