// Package admission makes background work yield to foreground requests:
// the admission controller of the Dynamo paper (section 6.5), where
// background tasks get a share of their resources that depends on how
// the foreground operations are doing.
//
// A Controller learns the latency of every foreground operation a node
// coordinates (Observe: one atomic add into a histogram bucket, no lock
// and no allocation). Every Config.Window it folds what it learned into
// a decaying histogram (each window's observations weigh half as much at
// the next fold: an exponentially weighted histogram, half-life one
// window) and reads its 99th percentile. From that it keeps a share in
// [Config.Floor, 1], additive increase and multiplicative decrease: a
// window whose p99 exceeds Config.Target halves the share, one under it
// adds Config.Step. With too few observations to tell (an idle node)
// the share recovers as if under target: there is no foreground to
// protect. The floor is never zero, so background work always makes
// progress.
//
// A Limiter paces background work (anti-entropy repairs, tombstone
// checks, transfers, ownership and hinted handoff) to its rate times the
// controller's share, asked at every Wait. A node has one Controller,
// fed by its coordinator and shared by the limiters of its background
// work.
//
// Time: a Controller has no goroutine. It folds lazily, when its share
// or its stats are asked for and a window has ended by its injected
// clock; the windows that ended meanwhile decay the histogram and, under
// target, each add a step. Tests drive it with a fake clock.
//
// Concurrency: Controller and Limiter are safe for concurrent use.
// Observe takes no lock; Share, Stats and the Limiter's methods take a
// mutex held for O(buckets) work at most. Lock order: a Limiter never
// holds its mutex while it asks the Controller.
//
// It is a leaf: it imports nothing of dynkv but admin.
package admission
