package secure

import (
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"os"
	"sync"
	"time"
)

// TLS makes the TLS configurations of a peer's connections to other peers
// (Raft) and of its API. Every connection is mutual: each side shows a
// certificate the other verifies, so a connection without the cluster's
// secret fails in the handshake, before any byte reaches Raft.
//
// Derived from the keyring (NewDerived), each key stands for a certificate
// authority whose private key is derived from the key (HKDF-SHA256 to an
// Ed25519 seed): a peer signs a fresh certificate for itself with the
// primary key's authority and accepts a certificate signed by the authority
// of any installed key, so keys rotate as gossip keys do. From files
// (LoadFiles), the authority is the CA file and the certificate the
// peer's own. Hostnames are not checked: any certificate of the cluster's
// authority is a member. Safe for concurrent use.
type TLS struct {
	ring *Keyring // nil for files
	name string

	mu   sync.Mutex
	cert *tls.Certificate
	// primary is the key cert was signed with (derived mode).
	primary []byte
	cas     map[string]*x509.Certificate // key -> derived authority
	pool    *x509.CertPool               // files mode
}

// NewDerived returns TLS configurations derived from ring; name goes in
// this peer's certificate. The certificate follows the primary key.
func NewDerived(ring *Keyring, name string) (*TLS, error) {
	t := &TLS{ring: ring, name: name, cas: map[string]*x509.Certificate{}}
	if _, err := t.current(); err != nil {
		return nil, err
	}
	return t, nil
}

// LoadFiles returns TLS configurations from a CA file (PEM, the authority
// of every peer's certificate) and this peer's certificate and key files.
func LoadFiles(caFile, certFile, keyFile string) (*TLS, error) {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("--tls-ca %s: %w", caFile, unwrapPath(err))
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("--tls-ca %s: no PEM certificate in it", caFile)
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("--tls-cert %s / --tls-key %s: %w", certFile, keyFile, unwrapPath(err))
	}
	return &TLS{cert: &cert, pool: pool}, nil
}

// Derived reports whether the configurations come from the keyring.
func (t *TLS) Derived() bool { return t.ring != nil }

// Server returns the configuration for accepted connections.
func (t *TLS) Server() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS13,
		ClientAuth: tls.RequireAnyClientCert,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return t.current()
		},
		VerifyPeerCertificate: t.verify,
	}
}

// Client returns the configuration for dialed connections.
func (t *TLS) Client() *tls.Config {
	return &tls.Config{
		MinVersion:         tls.VersionTLS13,
		InsecureSkipVerify: true, // verify checks the chain; names are not checked
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			return t.current()
		},
		VerifyPeerCertificate: t.verify,
	}
}

// Valid reports whether the peer certificate of an established connection
// still verifies (a connection authenticated by a key since removed does not).
func (t *TLS) Valid(cs tls.ConnectionState) bool {
	var raw [][]byte
	for _, c := range cs.PeerCertificates {
		raw = append(raw, c.Raw)
	}
	return t.verify(raw, nil) == nil
}

// errNoCert is returned when the other side shows no certificate.
var errNoCert = errors.New("no certificate")

func (t *TLS) verify(raw [][]byte, _ [][]*x509.Certificate) error {
	if len(raw) == 0 {
		return errNoCert
	}
	certs := make([]*x509.Certificate, 0, len(raw))
	for _, r := range raw {
		c, err := x509.ParseCertificate(r)
		if err != nil {
			return fmt.Errorf("bad certificate: %w", err)
		}
		certs = append(certs, c)
	}
	opts := x509.VerifyOptions{
		Roots:         t.roots(),
		Intermediates: x509.NewCertPool(),
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	}
	for _, c := range certs[1:] {
		opts.Intermediates.AddCert(c)
	}
	if _, err := certs[0].Verify(opts); err != nil {
		return fmt.Errorf("certificate not signed by the cluster's authority: %w", err)
	}
	return nil
}

// roots returns the authorities accepted now.
func (t *TLS) roots() *x509.CertPool {
	if t.ring == nil {
		return t.pool
	}
	pool := x509.NewCertPool()
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, key := range t.ring.Keys() {
		ca, ok := t.cas[string(key)]
		if !ok {
			var err error
			if ca, _, err = deriveCA(key); err != nil {
				continue
			}
			t.cas[string(key)] = ca
		}
		pool.AddCert(ca)
	}
	return pool
}

// current returns this peer's certificate, signing a new one when the
// primary key changed.
func (t *TLS) current() (*tls.Certificate, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.ring == nil {
		return t.cert, nil
	}
	primary := t.ring.Primary()
	if t.cert != nil && string(primary) == string(t.primary) {
		return t.cert, nil
	}
	cert, err := leafFor(primary, t.name)
	if err != nil {
		return nil, err
	}
	t.cert, t.primary = cert, primary
	return cert, nil
}

// caEpoch and caEnd bound the derived authorities' validity; they are
// fixed so that every holder of a key derives the same certificate.
var (
	caEpoch = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	caEnd   = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
)

// deriveCA returns the authority a key stands for, and its private key.
func deriveCA(key []byte) (*x509.Certificate, ed25519.PrivateKey, error) {
	seed, err := hkdf.Key(sha256.New, key, []byte("roster cluster key"), "raft tls authority", ed25519.SeedSize)
	if err != nil {
		return nil, nil, err
	}
	priv := ed25519.NewKeyFromSeed(seed)
	h := sha256.Sum256(priv.Public().(ed25519.PublicKey))
	tmpl := &x509.Certificate{
		SerialNumber:          new(big.Int).SetBytes(h[:16]),
		Subject:               pkix.Name{CommonName: "roster cluster " + Fingerprint(key)},
		NotBefore:             caEpoch,
		NotAfter:              caEnd,
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
		SubjectKeyId:          h[:20],
	}
	der, err := x509.CreateCertificate(nil, tmpl, tmpl, priv.Public(), priv)
	if err != nil {
		return nil, nil, err
	}
	ca, err := x509.ParseCertificate(der)
	return ca, priv, err
}

// leafFor signs a new certificate for this peer with key's authority.
func leafFor(key []byte, name string) (*tls.Certificate, error) {
	ca, caPriv, err := deriveCA(key)
	if err != nil {
		return nil, err
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(100 * 365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		DNSNames:     []string{name},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, pub, caPriv)
	if err != nil {
		return nil, err
	}
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: priv}, nil
}

// API returns the configuration of the HTTP API's listener (files mode):
// the peer's certificate, no client certificate asked for.
func (t *TLS) API() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return t.current()
		},
	}
}
