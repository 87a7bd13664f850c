package coordinator

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"

	"github.com/dynkv/dynkv/replica"
)

// TestSpawn_RacesClose: goroutines spawned while Close runs (a request
// still being served as the node closes) neither race Close's Wait (the
// race detector reported WaitGroup.Add against Wait before spawn) nor are
// lost: each function runs, in a goroutine Close waits for or inline.
func TestSpawn_RacesClose(t *testing.T) {
	st, err := replica.Open(replica.Config{Dir: "db", FS: vfs.NewMem(), Durability: replica.DurabilityNone})
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	c, err := New(DefaultConfig(), st, time.Now, nil)
	require.NoError(t, err)
	const spawners, each = 4, 500
	var ran atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range spawners {
		wg.Go(func() {
			<-start
			for range each {
				c.spawn(func() { ran.Add(1) })
			}
		})
	}
	close(start)
	require.NoError(t, c.Close())
	wg.Wait()
	require.EqualValues(t, spawners*each, ran.Load())
}
