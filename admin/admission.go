package admin

import "time"

// AdmissionStats describe a node's admission controller (package
// admission): how much of their configured rate its background work may
// use, and the foreground latency that decided it.
type AdmissionStats struct {
	Target        time.Duration // the foreground p99 background work yields to; 0: controller off
	Share         float64       // of the configured rate, in (0, 1]
	ForegroundP99 time.Duration // p99 of the decayed foreground latencies; 0: too few to tell
	Observed      int64         // foreground operations observed
	Cuts          int64         // windows whose p99 exceeded the target, each halving the share
}
