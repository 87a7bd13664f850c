package itest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestBadConfig_ExitsNamingKey checks that an invalid configuration stops
// the binary before it opens its store or binds, with exit code 2 and a
// message naming the key.
func TestBadConfig_ExitsNamingKey(t *testing.T) {
	dir := t.TempDir()
	unknownKeyFile := filepath.Join(dir, "unknown.yaml")
	require.NoError(t, os.WriteFile(unknownKeyFile, []byte("listen: 127.0.0.1:0\nbogus: 1\n"), 0o600))
	badValueFile := filepath.Join(dir, "bad.toml")
	require.NoError(t, os.WriteFile(badValueFile, []byte("maxclients = \"lots\"\n"), 0o600))

	tests := []struct {
		name string
		env  []string
		args []string
		want []string
	}{
		{name: "durability flag", args: []string{"--durability", "fast"},
			want: []string{`durability: "fast" is not one of none, process, fsync`, "--durability"}},
		{name: "size from env", env: []string{"DYNKV_MAX_VALUE_SIZE=lots"},
			want: []string{`max-value-size: "lots" is not a size`, "DYNKV_MAX_VALUE_SIZE"}},
		{name: "listen", args: []string{"--listen", "nowhere"}, want: []string{`listen: "nowhere" is not host:port`}},
		{name: "quorum", args: []string{"--r", "9"}, want: []string{"r: must be between 1 and n"}},
		{name: "unknown file key", args: []string{"--config", unknownKeyFile}, want: []string{`unknown key "bogus"`, unknownKeyFile}},
		{name: "bad file value", env: []string{"DYNKV_CONFIG=" + badValueFile}, want: []string{`maxclients: "lots" is not an integer`, badValueFile}},
		{name: "missing file", args: []string{"--config", filepath.Join(dir, "missing.yaml")}, want: []string{"missing.yaml"}},
		{name: "unknown flag", args: []string{"--no-such-flag"}, want: []string{"unknown flag: --no-such-flag"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := filepath.Join(t.TempDir(), "data")
			args := append([]string{"serve", "--data.dir", data}, tt.args...)
			code, stdout, stderr := runDynkv(t, tt.env, args...)
			require.Equal(t, 2, code, "stderr:\n%s", stderr)
			require.Empty(t, stdout)
			for _, w := range tt.want {
				require.Contains(t, stderr, w)
			}
			require.True(t, strings.HasPrefix(stderr, "dynkv: "), "one error line, no log: %q", stderr)
			require.NoDirExists(t, data, "nothing was created before validation")
		})
	}
}

func TestVersion(t *testing.T) {
	code, stdout, stderr := runDynkv(t, nil, "version")
	require.Equal(t, 0, code, stderr)
	require.Regexp(t, `^dynkv \d+\.\d+\.\d+\S* .*go1\.\d+`, stdout)
}

func TestUnknownCommand(t *testing.T) {
	code, _, stderr := runDynkv(t, nil, "frobnicate")
	require.NotEqual(t, 0, code)
	require.Contains(t, stderr, `unknown command "frobnicate"`)
}
