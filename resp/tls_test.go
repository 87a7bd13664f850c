package resp_test

import (
	"crypto/tls"
	"net"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/dynkv/dynkv/resp"
	"github.com/dynkv/dynkv/resp/resptest"
)

// serveTLS serves a fresh one-node backend on a TLS port with the test
// certificates and tls-auth-clients auth.
func serveTLS(t *testing.T, files resptest.TLSFiles, auth string, mutate func(*resp.Config)) (*resp.Server, string) {
	t.Helper()
	co, st := resptest.Backend(t)
	cfg := resp.DefaultConfig()
	cfg.TLS = files.Config(0, auth)
	if mutate != nil {
		mutate(&cfg)
	}
	return resptest.ServeTLS(t, cfg, co, st)
}

func tlsClient(t *testing.T, addr string, tc *tls.Config) *redis.Client {
	return newClient(t, &redis.Options{Addr: addr, TLSConfig: tc, MaxRetries: -1})
}

func TestTLS_GoRedis(t *testing.T) {
	files := resptest.WriteTLSFiles(t)
	ctx := t.Context()
	_, addr := serveTLS(t, files, resp.TLSAuthYes, nil)
	c := tlsClient(t, addr, files.Client(t, files.ClientCert, files.ClientKey))
	require.Equal(t, "PONG", c.Ping(ctx).Val())
	require.NoError(t, c.Set(ctx, "k", "v", 0).Err())
	require.Equal(t, "v", c.Get(ctx, "k").Val())
	require.Equal(t, "OK", c.Do(ctx, "DPUT", "cart", "", "apple").Val())
	v, err := c.Do(ctx, "DGET", "cart").Slice()
	require.NoError(t, err)
	require.Equal(t, []any{"apple"}, v[1])
	cmds, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for range 100 {
			p.Incr(ctx, "nope") // not supported: every reply an error, in order
			p.Get(ctx, "k")
		}
		return nil
	})
	require.Error(t, err)
	require.Len(t, cmds, 200)
	require.Equal(t, "v", cmds[199].(*redis.StringCmd).Val())
}

func TestTLS_ClientAuthentication(t *testing.T) {
	files := resptest.WriteTLSFiles(t)
	ctx := t.Context()
	for _, tt := range []struct {
		auth      string
		cert, key string // the client's; empty: none
		wantErr   string // empty: served
	}{
		{resp.TLSAuthYes, files.ClientCert, files.ClientKey, ""},
		{resp.TLSAuthYes, "", "", "certificate required"},
		{resp.TLSAuthYes, files.OtherCert, files.OtherKey, "unknown certificate authority"},
		{resp.TLSAuthOptional, "", "", ""},
		{resp.TLSAuthOptional, files.ClientCert, files.ClientKey, ""},
		{resp.TLSAuthOptional, files.OtherCert, files.OtherKey, "unknown certificate authority"},
		{resp.TLSAuthNo, "", "", ""},
	} {
		name := tt.auth + "/no certificate"
		switch tt.cert {
		case files.ClientCert:
			name = tt.auth + "/certificate of the CA"
		case files.OtherCert:
			name = tt.auth + "/certificate of another CA"
		}
		t.Run(name, func(t *testing.T) {
			_, addr := serveTLS(t, files, tt.auth, nil)
			c := tlsClient(t, addr, files.Client(t, tt.cert, tt.key))
			err := c.Ping(ctx).Err()
			if tt.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tt.wantErr)
		})
	}
}

func TestTLS_Refused(t *testing.T) {
	files := resptest.WriteTLSFiles(t)
	ctx := t.Context()
	_, addr := serveTLS(t, files, resp.TLSAuthNo, func(c *resp.Config) { c.MaxClients = 1 })

	t.Run("TLS 1.1", func(t *testing.T) {
		tc := files.Client(t, "", "")
		tc.MinVersion, tc.MaxVersion = tls.VersionTLS10, tls.VersionTLS11
		require.ErrorContains(t, tlsClient(t, addr, tc).Ping(ctx).Err(), "protocol version")
	})
	t.Run("plain text", func(t *testing.T) {
		c := resptest.Dial(t, addr)
		c.Send("PING\r\n")
		c.WaitClosed()
	})
	t.Run("over maxclients: closed without a reply", func(t *testing.T) {
		first := tlsClient(t, addr, files.Client(t, "", ""))
		require.NoError(t, first.Ping(ctx).Err())
		second := tlsClient(t, addr, files.Client(t, "", ""))
		require.Error(t, second.Ping(ctx).Err())
		require.NoError(t, first.Ping(ctx).Err())
	})
}

func TestTLS_ConfigErrors(t *testing.T) {
	files := resptest.WriteTLSFiles(t)
	co, st := resptest.Backend(t)
	for _, tt := range []struct {
		name   string
		mutate func(*resp.TLSConfig)
		want   string
	}{
		{"missing certificate file", func(c *resp.TLSConfig) { c.CertFile = c.CertFile + ".nope" }, "resp: tls-cert-file, tls-key-file:"},
		{"key of another certificate", func(c *resp.TLSConfig) { c.KeyFile = files.ClientKey }, "resp: tls-cert-file, tls-key-file:"},
		{"missing CA file", func(c *resp.TLSConfig) { c.CAFile = c.CAFile + ".nope" }, "resp: tls-ca-cert-file:"},
		{"CA file without a certificate", func(c *resp.TLSConfig) { c.CAFile = files.Key }, "resp: tls-ca-cert-file: no PEM certificate"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := resp.DefaultConfig()
			cfg.TLS = files.Config(6390, resp.TLSAuthYes)
			tt.mutate(&cfg.TLS)
			_, err := resp.New(cfg, co, st, nil)
			require.ErrorContains(t, err, tt.want)
		})
	}
	t.Run("ServeTLS without tls-port", func(t *testing.T) {
		srv, err := resp.New(resp.DefaultConfig(), co, st, nil)
		require.NoError(t, err)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		require.ErrorContains(t, srv.ServeTLS(ln), "tls-port is not set")
		_, err = net.DialTimeout("tcp", ln.Addr().String(), time.Second)
		require.Error(t, err, "the listener was closed")
	})
}
