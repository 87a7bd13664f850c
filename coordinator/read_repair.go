package coordinator

import (
	"context"

	"github.com/dynkv/dynkv/version"
)

// repairAfterRead waits in the background for the pending answers, then
// sends the merged set to every home replica that answered with less.
func (c *Coordinator) repairAfterRead(key []byte, merged version.Siblings, got []readResult, results <-chan readResult, pending int, done context.CancelFunc) {
	c.background(func(ctx context.Context) {
		defer done()
		for range pending {
			select {
			case res := <-results:
				got = append(got, res)
				if res.err == nil {
					merged = version.Sync(merged, res.ss)
				}
			case <-ctx.Done():
				return
			}
		}
		for _, res := range got {
			if res.err != nil || res.node != res.home || version.SameVersions(res.ss, merged) {
				continue
			}
			var err error
			if res.node == c.cluster.Self() {
				_, err = c.local.Merge(ctx, key, merged)
			} else {
				err = c.peer(res.node).Merge(ctx, key, merged)
			}
			if err == nil {
				c.repairs.Add(1)
			}
		}
	})
}
