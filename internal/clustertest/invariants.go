package clustertest

import (
	"context"
	"time"

	"go.uber.org/goleak"

	"github.com/dynkv/dynkv/replica"
)

// Invariants checked when a cluster stops at the end of its test, as bbolt
// checks its consistency after every test. A violation fails the test
// (t.Errorf) however the test itself went:
//
//   - Every node's hash tree matches the data: replica.Store.CheckTree on
//     each running node before it stops, and on each node that is down
//     (killed, power-lost) by opening its data as a restart would, which
//     checks the tree a crash left on disk.
//   - No goroutine leaked: once every node has stopped, no goroutine is
//     left that did not exist when the cluster was created (go.uber.org/
//     goleak, retried until leakDeadline so that goroutines on their way
//     out may finish).
//
// The goroutine check is process-wide: it cannot tell this cluster's
// goroutines from those of a test running in parallel. It runs only when
// no other test can run concurrently, that is when neither the test nor any
// of its ancestors called t.Parallel (then the testing package runs
// nothing else meanwhile); otherwise it logs that it was skipped. A
// package whose cluster tests run in parallel should verify in its
// TestMain with goleak.VerifyTestMain instead.

// leakDeadline bounds how long the goroutine check waits for goroutines
// on their way out (a reply in flight, a background call whose context was
// just cancelled) before it calls them leaked. Generous: -race on a busy
// machine.
var leakDeadline = 10 * time.Second

// goroutinesBefore records the goroutines that exist before the cluster
// starts: the goroutine check ignores them.
func goroutinesBefore() goleak.Option { return goleak.IgnoreCurrent() }

// stopAndCheck is the cluster's cleanup: it checks the hash trees, stops
// every node and checks that no goroutine leaked.
func (c *Cluster) stopAndCheck() {
	c.checkTrees()
	c.stopAll()
	c.checkGoroutines()
}

// checkTrees runs replica.Store.CheckTree on every node: a running node's
// store as it is, a down node's data by opening it.
func (c *Cluster) checkTrees() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, id := range c.IDs() {
		c.mu.Lock()
		nd := c.mu.nodes[id]
		st, fs := nd.Store, nd.fs
		c.mu.Unlock()
		if st != nil {
			if err := st.CheckTree(ctx); err != nil {
				c.t.Errorf("clustertest invariant: hash tree of %s (running) does not match its records: %v", id, err)
			}
			continue
		}
		st, err := replica.Open(replica.Config{Dir: "db", FS: fs, Durability: replica.DurabilityProcess})
		if err != nil {
			c.t.Errorf("clustertest invariant: open %s (down) to check its hash tree: %v", id, err)
			continue
		}
		if n := st.Stats().TreeRebuilds; n > 0 {
			c.t.Errorf("clustertest invariant: %s (down): the hash tree on disk was missing or corrupt (Open rebuilt it)", id)
		}
		if err := st.CheckTree(ctx); err != nil {
			c.t.Errorf("clustertest invariant: hash tree of %s (down, reopened) does not match its records: %v", id, err)
		}
		if err := st.Close(); err != nil {
			c.t.Errorf("clustertest invariant: close %s (down) after checking its hash tree: %v", id, err)
		}
	}
}

// checkGoroutines fails the test if a goroutine started since the cluster
// was created is still running, retrying until leakDeadline.
func (c *Cluster) checkGoroutines() {
	if parallel(c.t) {
		c.t.Logf("clustertest: goroutine leak check skipped: the test runs in parallel with others")
		return
	}
	deadline := time.Now().Add(leakDeadline)
	for {
		err := goleak.Find(c.before) // retries for about half a second itself
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			c.t.Errorf("clustertest invariant: goroutines leaked by the cluster (still running %v after all its nodes stopped): %v", leakDeadline, err)
			return
		}
	}
}

// parallel reports whether t or one of its ancestors is a parallel test,
// so that other tests may be running: the testing package refuses
// Setenv (a process-wide change, as the goroutine check is a process-wide
// observation) exactly then, by panicking. The probe sets a variable of
// ours, which t restores.
func parallel(t interface{ Setenv(k, v string) }) (p bool) {
	defer func() {
		if recover() != nil {
			p = true
		}
	}()
	t.Setenv(probeEnv, probeValue)
	return false
}

const (
	probeEnv   = "DYNKV_CLUSTERTEST_LEAK_CHECK"
	probeValue = "1"
)
