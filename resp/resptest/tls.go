package resptest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/dynkv/dynkv/resp"
)

// TLSFiles are PEM files for TLS tests, written by WriteTLSFiles: a CA, a
// server certificate it signed for 127.0.0.1 and localhost, a client
// certificate it signed, and a client certificate of another CA.
type TLSFiles struct {
	CA         string // the CA's certificate
	Cert, Key  string // the server's certificate and key
	ClientCert string // a client certificate signed by CA
	ClientKey  string
	OtherCert  string // a client certificate signed by another CA
	OtherKey   string
}

// WriteTLSFiles generates the certificates of TLSFiles (ECDSA P-256,
// valid for an hour) into a t.TempDir.
func WriteTLSFiles(t testing.TB) TLSFiles {
	t.Helper()
	dir := t.TempDir()
	ca, caKey := newCA(t, "dynkv test CA")
	other, otherKey := newCA(t, "another CA")
	f := TLSFiles{
		CA:   writePEM(t, dir, "ca.pem", "CERTIFICATE", ca.Raw),
		Cert: filepath.Join(dir, "server.pem"), Key: filepath.Join(dir, "server-key.pem"),
		ClientCert: filepath.Join(dir, "client.pem"), ClientKey: filepath.Join(dir, "client-key.pem"),
		OtherCert: filepath.Join(dir, "other.pem"), OtherKey: filepath.Join(dir, "other-key.pem"),
	}
	leaf(t, ca, caKey, "dynkv server", x509.ExtKeyUsageServerAuth, f.Cert, f.Key)
	leaf(t, ca, caKey, "dynkv client", x509.ExtKeyUsageClientAuth, f.ClientCert, f.ClientKey)
	leaf(t, other, otherKey, "stranger", x509.ExtKeyUsageClientAuth, f.OtherCert, f.OtherKey)
	return f
}

// Config returns a resp.TLSConfig on port with the server's files and
// auth ("yes", "no", "optional").
func (f TLSFiles) Config(port int, auth string) resp.TLSConfig {
	return resp.TLSConfig{Port: port, CertFile: f.Cert, KeyFile: f.Key, CAFile: f.CA, AuthClients: auth}
}

// Client returns a client's tls.Config that trusts CA, presenting the
// certificate in certFile and keyFile unless they are empty, whichever
// authorities the server says it accepts.
func (f TLSFiles) Client(t testing.TB, certFile, keyFile string) *tls.Config {
	t.Helper()
	pool := x509.NewCertPool()
	b, err := os.ReadFile(f.CA)
	if err != nil || !pool.AppendCertsFromPEM(b) {
		t.Fatalf("resptest: read CA: %v", err)
	}
	tc := &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
	if certFile != "" {
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			t.Fatalf("resptest: load client certificate: %v", err)
		}
		tc.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &cert, nil }
	}
	return tc
}

// ServeTLS starts a resp.Server with cfg over backend and store, its TLS
// port (cfg.TLS, whose Port is ignored) on 127.0.0.1:0, and returns it
// with that port's address. When the test ends it closes the server and
// checks that ServeTLS returned resp.ErrClosed.
func ServeTLS(t testing.TB, cfg resp.Config, backend resp.Backend, store resp.StoreStats) (*resp.Server, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("resptest: listen: %v", err)
	}
	cfg.TLS.Port = ln.Addr().(*net.TCPAddr).Port
	cfg.Listen = "127.0.0.1:0"
	srv, err := resp.New(cfg, backend, store, Logger(t))
	if err != nil {
		_ = ln.Close()
		t.Fatalf("resptest: new server: %v", err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.ServeTLS(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), Timeout)
		defer cancel()
		if err := srv.Close(ctx); err != nil && !errors.Is(err, resp.ErrClosed) {
			t.Errorf("resptest: close: %v", err)
		}
		select {
		case err := <-served:
			if !errors.Is(err, resp.ErrClosed) {
				t.Errorf("resptest: ServeTLS returned %v, want resp.ErrClosed", err)
			}
		case <-ctx.Done():
			t.Errorf("resptest: ServeTLS did not return after Close")
		}
	})
	return srv, ln.Addr().String()
}

func newCA(t testing.TB, name string) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber: serial(t), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatalf("resptest: create CA: %v", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("resptest: parse CA: %v", err)
	}
	return cert, key
}

// leaf writes a certificate for name signed by ca, and its key.
func leaf(t testing.TB, ca *x509.Certificate, caKey *ecdsa.PrivateKey, name string, usage x509.ExtKeyUsage, certFile, keyFile string) {
	t.Helper()
	key := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber: serial(t), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatalf("resptest: create certificate: %v", err)
	}
	kb, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatalf("resptest: marshal key: %v", err)
	}
	writePEM(t, filepath.Dir(certFile), filepath.Base(certFile), "CERTIFICATE", der)
	writePEM(t, filepath.Dir(keyFile), filepath.Base(keyFile), "PRIVATE KEY", kb)
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("resptest: generate key: %v", err)
	}
	return key
}

func serial(t testing.TB) *big.Int {
	t.Helper()
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		t.Fatalf("resptest: serial: %v", err)
	}
	return n
}

func writePEM(t testing.TB, dir, name, typ string, der []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatalf("resptest: write %s: %v", p, err)
	}
	return p
}
