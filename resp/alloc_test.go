//go:build !race

package resp

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

// The allocation budget of the request path: a SET or GET of a 100-byte
// value through the RESP layer, the coordinator (one node) and the store,
// reply included, not counting the connection's reads and writes (whose
// buffers are reused). Built without the race detector, which allocates.
//
// GET, 4: the key's plan (its replicas), the pebble key, the record
// copied out of the record cache, and the decoded siblings.
//
// SET, 12 (11 measured when this was written): the plan, the pebble
// key, the record read from the cache and its decoding (the sibling
// slice, a past), the write's closure, the new sibling set and its bounded
// past, a version vector join (two in go test -bench BenchmarkExec_SetGet
// -memprofile), and the encoded record (which the cache keeps). Each is a
// slice the result, the cache or the engine keeps, so a lower budget means
// a different data layout, not a missed pool. The leaf hash's merge key
// and operand live in the pooled commit job: passed to the storage
// engine's interface they would escape, two allocations more.
const (
	allocsGet = 4
	allocsSet = 12
)

// TestAllocs_SetGet fails if a SET or GET allocates more than its budget.
func TestAllocs_SetGet(t *testing.T) {
	tc := newDefaultEnv(t).client()
	keys := make([][]byte, 200)
	value := make([]byte, 100)
	for i := range keys {
		keys[i] = fmt.Appendf(nil, "key:%06d", i)
		require.Equal(t, okReply, tc.doBytes([][]byte{[]byte("SET"), keys[i], value}))
	}
	for _, tt := range []struct {
		cmd    string
		budget float64
	}{{"GET", allocsGet}, {"SET", allocsSet}} {
		args := [][]byte{[]byte(tt.cmd), nil, value}
		if tt.cmd == "GET" {
			args = args[:2]
		}
		i := 0
		n := testing.AllocsPerRun(1000, func() {
			args[1] = keys[i%len(keys)]
			i++
			tc.s.exec(tc.c, args)
			tc.c.w.truncate(0)
		})
		t.Logf("%s: %.1f allocations", tt.cmd, n)
		require.LessOrEqual(t, n, tt.budget, "%s allocates more than its budget", tt.cmd)
	}
}
