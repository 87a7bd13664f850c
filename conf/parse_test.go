package conf

import (
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
	}{
		{"0", 0},
		{"1048576", 1 << 20},
		{"512b", 512},
		{"1k", 1000},
		{"1kb", 1024},
		{"1KiB", 1024},
		{"64mb", 64 << 20},
		{"64MB", 64 << 20},
		{"64MiB", 64 << 20},
		{"64m", 64_000_000},
		{" 2 gb ", 2 << 30},
		{"1g", 1_000_000_000},
		{"1tib", 1 << 40},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseSize(tt.in)
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
			back, err := parseSize(formatSize(got))
			require.NoError(t, err)
			require.Equal(t, got, back)
		})
	}
	for _, bad := range []string{"", "mb", "-1", "+1", "1.5mb", "12xb", "1 000", "99999999999tb", "0x10"} {
		t.Run("bad "+bad, func(t *testing.T) {
			_, err := parseSize(bad)
			require.ErrorContains(t, err, "is not a size in bytes")
		})
	}
}

func TestFormatSize(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 1000: "1000", 1024: "1kb", 64 << 20: "64mb", 512 << 20: "512mb", 3 << 30: "3gb"} {
		require.Equal(t, want, formatSize(n))
	}
}

func TestParseLevel(t *testing.T) {
	for in, want := range map[string]slog.Level{"debug": slog.LevelDebug, "INFO": slog.LevelInfo, "Warn": slog.LevelWarn, "error": slog.LevelError} {
		got, err := parseLevel(in)
		require.NoError(t, err)
		require.Equal(t, want, got)
		back, err := parseLevel(formatLevel(got))
		require.NoError(t, err)
		require.Equal(t, got, back)
	}
	_, err := parseLevel("trace")
	require.Error(t, err)
}

func TestSanitizeNodeID(t *testing.T) {
	for in, want := range map[string]string{
		"db-1.example.com": "db-1.example.com",
		"MyHost":           "myhost",
		"host name":        "host-name",
		"höst":             "h--st",
	} {
		t.Run(in, func(t *testing.T) {
			got := sanitizeNodeID(in)
			require.Equal(t, want, got)
			require.NoError(t, validateNodeID(got))
		})
	}
	require.NoError(t, validateNodeID(defaultNodeID()))
}

func TestParseYesNo(t *testing.T) {
	for in, want := range map[string]bool{"yes": true, "YES": true, " no ": false, "true": true, "false": false} {
		got, err := parseYesNo(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
		back, err := parseYesNo(formatYesNo(got))
		require.NoError(t, err)
		require.Equal(t, got, back)
	}
	for _, bad := range []string{"", "y", "1", "maybe"} {
		_, err := parseYesNo(bad)
		require.EqualError(t, err, `"`+bad+`" is not one of yes, no`)
	}
}
