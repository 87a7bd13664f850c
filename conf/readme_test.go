package conf

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestREADME_ListsEveryKey keeps the configuration table of the README in
// step with Keys: one row per key, with its environment variable and
// default.
func TestREADME_ListsEveryKey(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	require.NoError(t, err)
	rows := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if cells := strings.Split(line, "|"); len(cells) > 5 && strings.HasPrefix(strings.TrimSpace(cells[1]), "`") {
			rows[strings.Trim(strings.TrimSpace(cells[1]), "`")] = line
		}
	}
	for _, k := range Keys() {
		row, ok := rows[k.Name]
		require.True(t, ok, "README.md has no row for key %s", k.Name)
		cells := strings.Split(row, "|")
		require.Equal(t, "`"+k.Env()+"`", strings.TrimSpace(cells[2]), k.Name)
		def := strings.TrimSpace(cells[4])
		switch {
		case k.Name == "node.id":
			require.Contains(t, def, "host name")
		case k.Default() == "":
			require.Equal(t, "(empty)", def, k.Name)
		default:
			require.Equal(t, "`"+k.Default()+"`", def, k.Name)
		}
		delete(rows, k.Name)
	}
	require.Empty(t, rows, "README.md lists keys that do not exist")
}
