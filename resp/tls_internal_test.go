package resp

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// selfSigned returns a server tls.Config with a self-signed certificate
// for 127.0.0.1, and the pool that trusts it.
func selfSigned(t *testing.T) (*tls.Config, *x509.CertPool) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "dynkv"},
		NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}, pool
}

// newTLSConnEnv serves a connEnv on a TLS port with a self-signed
// certificate and no client certificates.
func newTLSConnEnv(t *testing.T, cfg Config, handshake time.Duration, wrap func(net.Listener) net.Listener) (*connEnv, *x509.CertPool) {
	tc, pool := selfSigned(t)
	e := newConnEnvWith(t, cfg, nil, func(s *Server, ln net.Listener) error {
		if wrap != nil {
			ln = wrap(ln)
		}
		return s.ServeTLS(ln)
	}, func(s *Server) { s.tls, s.handshakeTimeout = tc, handshake })
	return e, pool
}

func (e *connEnv) dialTLS(pool *x509.CertPool) *rawConn {
	e.t.Helper()
	nc, err := tls.DialWithDialer(&net.Dialer{Timeout: rawTimeout}, "tcp", e.addr, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
	require.NoError(e.t, err)
	return newRawConn(e.t, nc)
}

func TestTLS_HandshakeTimeout(t *testing.T) {
	e, pool := newTLSConnEnv(t, DefaultConfig(), 50*time.Millisecond, nil)
	silent := e.dial() // TCP only: never says hello
	silent.waitClosed()
	// The handshake's deadline closes the socket before the failure is logged.
	waitUntil(t, "the failed handshake is logged", func() bool { return e.logs.Count("tls handshake failed") == 1 })
	require.Equal(t, "+PONG\r\n", e.dialTLS(pool).do("PING"))
}

func TestTLS_HandshakeFailuresLoggedAtABoundedRate(t *testing.T) {
	e, _ := newTLSConnEnv(t, DefaultConfig(), tlsHandshakeTimeout, nil)
	for range 3 * logBurst {
		c := e.dial()
		c.send("PING\r\n")
		c.waitClosed()
	}
	waitUntil(t, "every connection ended", func() bool { return len(e.s.clientsSnapshot()) == 0 })
	require.Equal(t, logBurst, e.logs.Count("tls handshake failed"))
	e.clock.Advance(logWindow)
	e.s.sweep()
	require.Equal(t, 1, e.logs.Count("tls handshake failed suppressed=20"))
}

func TestTLS_ProtectedModeAndIdleTimeout(t *testing.T) {
	cfg := DefaultConfig()
	cfg.IdleTimeout = 10 * time.Second
	t.Run("protected mode", func(t *testing.T) {
		e, pool := newTLSConnEnv(t, cfg, tlsHandshakeTimeout, fromRemote("192.0.2.10"))
		require.Equal(t, deniedReply, e.dialTLS(pool).waitClosed())
	})
	t.Run("idle timeout", func(t *testing.T) {
		e, pool := newTLSConnEnv(t, cfg, tlsHandshakeTimeout, nil)
		c := e.dialTLS(pool)
		require.Equal(t, "+PONG\r\n", c.do("PING"))
		e.settled(c)
		e.clock.Advance(11 * time.Second)
		e.s.sweep()
		require.Empty(t, c.waitClosed())
	})
}
