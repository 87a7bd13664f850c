package main

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseSeeds(t *testing.T) {
	s, err := parseSeeds("3, 5,8")
	require.NoError(t, err)
	require.Equal(t, []uint64{3, 5, 8}, s)
	s, err = parseSeeds("")
	require.NoError(t, err)
	require.Len(t, s, 1, "one random seed")
	for _, bad := range []string{"0", "x", "1,,2", "-1"} {
		_, err := parseSeeds(bad)
		require.ErrorContains(t, err, "--seeds", bad)
	}
}

// TestWithSeeds: the namespaced re-run gets the seeds the outer run drew,
// whatever form --seeds had.
func TestWithSeeds(t *testing.T) {
	require.Equal(t, []string{"--duration", "1m", "--seeds", "7"}, withSeeds([]string{"--duration", "1m"}, []uint64{7}))
	require.Equal(t, []string{"--hold", "2s", "--seeds", "1,2"}, withSeeds([]string{"--seeds", "9", "--hold", "2s"}, []uint64{1, 2}))
	require.Equal(t, []string{"--seeds", "4"}, withSeeds([]string{"--seeds=9"}, []uint64{4}))
}

// TestChaos_BadFlags: bad flags are usage errors before anything starts.
func TestChaos_BadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"chaos", "--faults", "meteor"},
		{"chaos", "--seeds", "zero"},
	} {
		var out, errb bytes.Buffer
		require.Equal(t, 2, execute(context.Background(), args, &out, &errb), "%v: %s", args, errb.String())
		require.Contains(t, errb.String(), "--")
	}
}
