package clustertest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/stretchr/testify/require"

	"github.com/dynkv/dynkv/coordinator"
)

// recorder is a test whose cleanups and errors are kept, so that a test
// can run a cluster's cleanup itself and see what it reports.
type recorder struct {
	*testing.T
	mu       sync.Mutex
	errs     []string
	cleanups []func()
}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func (r *recorder) Cleanup(f func()) { r.cleanups = append(r.cleanups, f) }

// cleanup runs the recorded cleanups, last first, and returns the errors.
func (r *recorder) cleanup() []string {
	for i := len(r.cleanups) - 1; i >= 0; i-- {
		r.cleanups[i]()
	}
	r.cleanups = nil
	return r.errs
}

// TestInvariants_Clean: a cluster that wrote, lost a node and restarted
// another passes its checks.
func TestInvariants_Clean(t *testing.T) {
	ctx := context.Background()
	r := &recorder{T: t}
	c := New(r, 4, Config())
	for i := range 50 {
		_, err := c.Node("node-0").Coord.Put(ctx, []byte(fmt.Sprintf("k%d", i)), coordinator.Write{Value: coordinator.Value([]byte("v"))})
		require.NoError(t, err)
	}
	c.Kill("node-1")
	c.PowerLoss("node-2")
	c.Restart("node-2")
	require.Empty(t, r.cleanup())
}

// TestInvariants_Leak: a goroutine started while the cluster runs and
// still running when it stops fails the test.
func TestInvariants_Leak(t *testing.T) {
	defer func(d time.Duration) { leakDeadline = d }(leakDeadline)
	leakDeadline = 0
	r := &recorder{T: t}
	_ = New(r, 3, Config())
	release := make(chan struct{})
	done := make(chan struct{})
	go func() { <-release; close(done) }()
	errs := r.cleanup()
	close(release)
	<-done
	require.Len(t, errs, 1)
	require.Contains(t, errs[0], "clustertest invariant: goroutines leaked by the cluster")
	require.Contains(t, errs[0], "TestInvariants_Leak.func")
}

// TestInvariants_Tree: a hash tree that does not match the data on a node
// that is down fails the test, naming the node.
func TestInvariants_Tree(t *testing.T) {
	r := &recorder{T: t}
	c := New(r, 3, Config())
	_, err := c.Node("node-0").Coord.Put(context.Background(), []byte("k"), coordinator.Write{Value: coordinator.Value([]byte("v"))})
	require.NoError(t, err)
	c.Kill("node-1")
	// Change leaf 0 behind the store's back: 't' + leaf (see replica/merkle.go),
	// merged as the store does (the merger must have the store's name).
	c.mu.Lock()
	fs := c.mu.nodes["node-1"].fs
	c.mu.Unlock()
	db, err := pebble.Open("db", &pebble.Options{FS: fs, Logger: quiet{}, Merger: &pebble.Merger{Name: "dynkv.xor64", Merge: pebble.DefaultMerger.Merge}})
	require.NoError(t, err)
	require.NoError(t, db.Set([]byte{'t', 0, 0, 0, 0}, []byte{0, 0, 0, 0, 0, 0, 0, 1}, pebble.Sync))
	require.NoError(t, db.Close())
	errs := r.cleanup()
	require.Len(t, errs, 1, strings.Join(errs, "\n"))
	require.Contains(t, errs[0], "clustertest invariant: hash tree of node-1 (down, reopened) does not match its records")
	require.Contains(t, errs[0], "first: leaf 0 (slot 0)")
}

type quiet struct{}

func (quiet) Infof(string, ...any)           {}
func (quiet) Errorf(string, ...any)          {}
func (quiet) Fatalf(format string, a ...any) { panic(fmt.Sprintf(format, a...)) }

// TestInvariants_ParallelSkipsLeakCheck: in a parallel test (or one with a
// parallel ancestor) goroutines cannot be told from those of the tests
// running alongside, so the leak check does not run (no false positive);
// the tree check still does.
func TestInvariants_ParallelSkipsLeakCheck(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"parallel", "sequential child of a parallel test"} {
		t.Run(name, func(t *testing.T) {
			if name == "parallel" {
				t.Parallel()
			}
			r := &recorder{T: t}
			_ = New(r, 3, Config())
			release := make(chan struct{})
			go func() { <-release }()
			defer close(release)
			require.Empty(t, r.cleanup())
		})
	}
}
