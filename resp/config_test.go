package resp

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dynkv/dynkv/coordinator"
)

func TestConfig_Validate(t *testing.T) {
	for _, tt := range []struct {
		name   string
		mutate func(*Config)
		want   string
	}{
		{"listen", func(c *Config) { c.Listen = "6379" }, "resp: listen:"},
		{"maxclients", func(c *Config) { c.MaxClients = 0 }, "resp: maxclients:"},
		{"max value size", func(c *Config) { c.MaxValueSize = 0 }, "resp: max-value-size:"},
		{"max request size", func(c *Config) { c.MaxRequestSize = c.MaxValueSize - 1 }, "resp: max-request-size:"},
		{"pipeline window 0", func(c *Config) { c.PipelineWindow = 0 }, "resp: pipeline-window:"},
		{"pipeline window too big", func(c *Config) { c.PipelineWindow = 1025 }, "resp: pipeline-window:"},
		{"idle timeout", func(c *Config) { c.IdleTimeout = -1 }, "resp: client-idle-timeout:"},
		{"auth grace", func(c *Config) { c.AuthGrace = -1 }, "resp: auth-grace:"},
		{"tls port range", func(c *Config) { c.TLS.Port = 65536 }, "resp: tls-port: must be from 0 to 65535"},
		{"tls port is the plain port", func(c *Config) { c.TLS = tlsFiles(6379, TLSAuthYes) }, "resp: tls-port: must differ from the port of listen"},
		{"tls auth clients", func(c *Config) { c.TLS.AuthClients = "maybe" }, "resp: tls-auth-clients:"},
		{"tls cert file", func(c *Config) { c.TLS = tlsFiles(6380, TLSAuthYes); c.TLS.CertFile = "" }, "resp: tls-cert-file: required"},
		{"tls key file", func(c *Config) { c.TLS = tlsFiles(6380, TLSAuthYes); c.TLS.KeyFile = "" }, "resp: tls-key-file: required"},
		{"tls ca file", func(c *Config) { c.TLS = tlsFiles(6380, TLSAuthOptional); c.TLS.CAFile = "" }, "resp: tls-ca-cert-file: required"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tt.mutate(&cfg)
			require.ErrorContains(t, cfg.Validate(), tt.want)
			_, err := New(cfg, nil, nil, nil)
			require.ErrorContains(t, err, tt.want, "New validates the config")
		})
	}
	require.NoError(t, DefaultConfig().Validate())
	noCA := DefaultConfig()
	noCA.TLS = tlsFiles(6380, TLSAuthNo)
	noCA.TLS.CAFile = ""
	require.NoError(t, noCA.Validate(), "no CA is needed when clients are not asked for certificates")
	require.Equal(t, "127.0.0.1:6380", noCA.TLSListen())
	require.Empty(t, DefaultConfig().TLSListen())
	require.Equal(t, "127.0.0.1:6379", DefaultConfig().Listen, "loopback by default")
}

func tlsFiles(port int, auth string) TLSConfig {
	return TLSConfig{Port: port, CertFile: "server.pem", KeyFile: "server-key.pem", CAFile: "ca.pem", AuthClients: auth}
}

func TestNew_RequiresBackendAndStore(t *testing.T) {
	e := newDefaultEnv(t)
	_, err := New(DefaultConfig(), nil, e.store, nil)
	require.Error(t, err)
	_, err = New(DefaultConfig(), e.co, nil, nil)
	require.Error(t, err)
	s, err := New(DefaultConfig(), e.co, e.store, nil)
	require.NoError(t, err)
	require.Nil(t, s.Addr())
}

func TestErrors_Is(t *testing.T) {
	require.ErrorIs(t, &quorumError{opt: "R", n: 9, max: 3}, coordinator.ErrBadQuorum)
	require.EqualError(t, &quorumError{opt: "R", n: 9, max: 3}, "resp: R 9 out of range 1..3")
	require.EqualError(t, &protocolError{"invalid bulk length"}, "Protocol error: invalid bulk length")
	require.EqualError(t, errSyntax, "ERR syntax error")
}
