package resp

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"time"
)

// TLS for clients, with Redis's parameters: a second client port
// (TLSConfig.Port, Redis's tls-port) on the host of Config.Listen speaks
// TLS 1.2 or later and serves the same commands as the plain port. A
// client's certificate is required, optional or not asked for
// (tls-auth-clients, default yes as in Redis) and verified against the
// authorities of TLSConfig.CAFile.
//
// The handshake runs on the connection's goroutine, within
// tlsHandshakeTimeout; a failed one is logged at a bounded rate and the
// connection closed. A TLS client beyond maxclients is closed without a
// reply, as in Redis: the reply could only be sent after a handshake.

// tlsHandshakeTimeout bounds a client's TLS handshake.
const tlsHandshakeTimeout = 10 * time.Second

// TLS client authentication modes, Redis's tls-auth-clients values.
const (
	TLSAuthYes      = "yes"
	TLSAuthNo       = "no"
	TLSAuthOptional = "optional"
)

// TLSConfig configures the TLS client port. Files are read by New.
type TLSConfig struct {
	// Port, when not 0, is a second client port, on the host of Listen,
	// that speaks TLS (1.2 at least) and serves the same commands. Key
	// tls-port. Default 0: no TLS port.
	Port int
	// CertFile is the server's certificate, PEM, followed by its chain.
	// Required with Port. Key tls-cert-file.
	CertFile string
	// KeyFile is the private key of CertFile, PEM. Required with Port.
	// Key tls-key-file.
	KeyFile string
	// CAFile holds the certificates, PEM, of the authorities that sign
	// clients' certificates. Required with Port unless AuthClients is
	// "no". Key tls-ca-cert-file.
	CAFile string
	// AuthClients says whether clients present a certificate: TLSAuthYes
	// (it is required), TLSAuthOptional (a certificate given must
	// verify) or TLSAuthNo (none is asked for). The empty string means
	// TLSAuthYes. Key tls-auth-clients. Default TLSAuthYes.
	AuthClients string
}

// validate reports the first invalid field; listenPort is Config.Listen's.
func (c TLSConfig) validate(listenPort string) error {
	switch c.AuthClients {
	case "", TLSAuthYes, TLSAuthNo, TLSAuthOptional:
	default:
		return fmt.Errorf("resp: tls-auth-clients: %q is not one of yes, no, optional", c.AuthClients)
	}
	switch {
	case c.Port < 0 || c.Port > 65535:
		return fmt.Errorf("resp: tls-port: must be from 0 to 65535, got %d", c.Port)
	case c.Port == 0:
		return nil
	case strconv.Itoa(c.Port) == listenPort:
		return fmt.Errorf("resp: tls-port: must differ from the port of listen (%s)", listenPort)
	case c.CertFile == "":
		return errors.New("resp: tls-cert-file: required with tls-port")
	case c.KeyFile == "":
		return errors.New("resp: tls-key-file: required with tls-port")
	case c.CAFile == "" && c.AuthClients != TLSAuthNo:
		return errors.New("resp: tls-ca-cert-file: required with tls-port unless tls-auth-clients is no")
	}
	return nil
}

// TLSListen returns the address of the TLS client port, the host of
// Listen and TLS.Port, or "" when TLS.Port is 0.
func (c Config) TLSListen() string {
	if c.TLS.Port == 0 {
		return ""
	}
	host, _, err := net.SplitHostPort(c.Listen)
	if err != nil {
		return ""
	}
	return net.JoinHostPort(host, strconv.Itoa(c.TLS.Port))
}

// authClients returns the mode AuthClients names.
func (c TLSConfig) authClients() string {
	if c.AuthClients == "" {
		return TLSAuthYes
	}
	return c.AuthClients
}

// Load reads the certificates and returns the server's tls.Config, or nil
// when Port is 0. New calls it; a caller may call it first to find bad
// files before it opens anything else.
func (c TLSConfig) Load() (*tls.Config, error) {
	if c.Port == 0 {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("resp: tls-cert-file, tls-key-file: %w", err)
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	switch c.authClients() {
	case TLSAuthYes:
		tc.ClientAuth = tls.RequireAndVerifyClientCert
	case TLSAuthOptional:
		tc.ClientAuth = tls.VerifyClientCertIfGiven
	}
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("resp: tls-ca-cert-file: %w", err)
		}
		tc.ClientCAs = x509.NewCertPool()
		if !tc.ClientCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("resp: tls-ca-cert-file: no PEM certificate in %s", c.CAFile)
		}
	}
	return tc, nil
}

// ServeTLS serves the TLS client port on ln, as Serve serves the plain
// one: it blocks until Close and takes ownership of ln. It returns an
// error at once if Config.TLS.Port is 0 (no certificate was loaded).
func (s *Server) ServeTLS(ln net.Listener) error {
	if s.tls == nil {
		_ = ln.Close()
		return errors.New("resp: serve tls: tls-port is not set")
	}
	return s.Serve(tls.NewListener(ln, s.tls))
}

// handshake completes the TLS handshake of a TLS client, within
// s.handshakeTimeout, and reports whether it succeeded. Other clients
// pass at once.
func (c *conn) handshake() bool {
	tc, ok := c.nc.(*tls.Conn)
	if !ok {
		return true
	}
	ctx, cancel := context.WithTimeout(c.sess.ctx, c.s.handshakeTimeout)
	defer cancel()
	if err := tc.HandshakeContext(ctx); err != nil {
		if !c.closing.Load() {
			c.s.rlog.Log(slog.LevelInfo, "tls handshake failed", "remote", c.sess.addr, "err", err)
		}
		return false
	}
	return true
}
