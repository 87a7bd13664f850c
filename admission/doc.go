// Package admission makes background work yield to foreground requests:
// the admission controller of the Dynamo paper (section 6.5), where
// background tasks get a share of their resources that depends on how
// the foreground operations are doing.
//
// A Controller learns the latency of every foreground operation a node
// coordinates (Since: a clock reading and one atomic add into a histogram
// bucket, no lock and no allocation). Every Config.Window it folds what
// it learned into a decaying histogram (each window's observations weigh
// half as much at the next fold: an exponentially weighted histogram,
// half-life one window) and reads its 99th percentile. From that it keeps
// a share in [Config.Floor, 1], additive increase and multiplicative
// decrease: a window whose p99 exceeds Config.Target halves the share,
// one under it adds Config.Step. With too few observations to tell (an
// idle node) the share recovers as if under target: there is no
// foreground to protect. The floor is never zero, so background work
// always makes progress.
//
// A Limiter paces background work (anti-entropy repairs, tombstone
// checks, transfers, ownership and hinted handoff) to its rate times the
// controller's share, asked at every Wait. A node has one Controller,
// fed by its coordinator and shared by the limiters of its background
// work.
//
// Time: a Controller has no goroutine. A window is folded by the first
// foreground operation to end after it (Since), or, on a node without
// foreground traffic, when the share or the stats are next asked for; the
// windows that ended meanwhile were empty, and each decays the histogram
// and is judged in turn. Tests drive it with a fake clock.
//
// Concurrency: Controller and Limiter are safe for concurrent use.
// Observe takes no lock, Since only tries one at a window's end; Share,
// Stats and the Limiter's methods take a mutex held for O(buckets) work
// per window folded. Lock order: a Limiter never holds its mutex while it
// asks the Controller.
//
// It is a leaf: it imports nothing of dynkv but admin.
package admission
