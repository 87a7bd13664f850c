package coordinator_test

import (
	"context"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"

	"github.com/dynkv/dynkv/coordinator"
	"github.com/dynkv/dynkv/internal/clustertest"
	"github.com/dynkv/dynkv/replica"
)

// TestCluster_DWSurvivesPowerLoss: a write acknowledged with DW 2 is on at
// least two replicas after every home loses power at once (the cluster's
// stores run in durability process, whose writes a power loss drops until
// fsynced); the control, the same write with DW none, is on none of them.
// A DW over N is refused before anything is written.
func TestCluster_DWSurvivesPowerLoss(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		name    string
		dw      int // the write's
		cfgDW   int // the coordinator's default
		atLeast int
		atMost  int
	}{
		{"dw 2", 2, 0, 2, 3},
		{"dw 3", 3, 0, 3, 3},
		{"the default, dw 2", 0, 2, 2, 3},
		{"control: dw none", coordinator.DWNone, 2, 0, 0},
		{"control: no dw", 0, 0, 0, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := clustertest.Config()
			cfg.DW = tt.cfgDW
			c := clustertest.New(t, 5, cfg)
			key := []byte("cart:1")
			home := c.Home(key)
			w := set("v")
			w.W, w.DW = 2, tt.dw
			_, err := c.Node(home[0]).Coord.Put(ctx, key, w)
			require.NoError(t, err)
			for _, id := range home {
				c.PowerLoss(id)
			}
			held := 0
			for _, id := range home {
				c.Restart(id)
				ss, err := c.Node(id).Store.Get(ctx, key)
				require.NoError(t, err)
				if v, ok := ss.Value(); ok && string(v) == "v" {
					held++
				}
			}
			require.GreaterOrEqual(t, held, tt.atLeast, "replicas holding the write after the power loss")
			require.LessOrEqual(t, held, tt.atMost)
		})
	}

	c := clustertest.New(t, 3, clustertest.Config())
	w := set("v")
	w.DW = 4
	_, err := c.Node(c.IDs()[0]).Coord.Put(ctx, []byte("k"), w)
	require.ErrorIs(t, err, coordinator.ErrBadQuorum)
	ss, err := c.Node(c.IDs()[0]).Store.Get(ctx, []byte("k"))
	require.NoError(t, err)
	require.Empty(t, ss, "nothing written")
}

// TestDW_RefusedByAStoreInMemory: a coordinator whose own store keeps no
// data on disk (storage memory) refuses a write with DW, which it would
// count towards DW, before writing anything; without DW the write goes
// through.
func TestDW_RefusedByAStoreInMemory(t *testing.T) {
	ctx := context.Background()
	st, err := replica.Open(replica.Config{Dir: "db", FS: vfs.NewMem(), Storage: replica.StorageMemory, Durability: replica.DurabilityNone})
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	c, err := coordinator.New(coordinator.DefaultConfig(), st, time.Now, nil)
	require.NoError(t, err)
	w := set("v")
	w.DW = 1
	_, err = c.Put(ctx, []byte("k"), w)
	require.ErrorIs(t, err, coordinator.ErrNotDurable)
	ss, err := st.Get(ctx, []byte("k"))
	require.NoError(t, err)
	require.Empty(t, ss, "nothing was written")
	_, err = c.Put(ctx, []byte("k"), set("v"))
	require.NoError(t, err)
}
