// Package launch starts and stops the operating-system processes of dynkv's
// harnesses: the `dynkv serve` nodes of the benchmark (bench), of the
// process-level checker (internal/jepsen) and of the integration tests
// (internal/itest), and the redis-server the benchmark compares against.
// It is the one place that knows how a child process is started (its
// environment, its output, its process group) and how it is stopped
// (SIGTERM, a grace period bounded by the caller's context, then SIGKILL).
//
// Invariants:
//
//   - A child never inherits the launcher's DYNKV_* environment variables:
//     they would override the flags the harness gives (see Environ).
//   - Every started Process has exactly one goroutine of the launcher,
//     which waits for the process to exit, closes its log file and then
//     closes Done. A caller that ends every process it started (Stop,
//     Kill, or Wait until it exits) has no launcher goroutine left.
//   - Stop sends SIGCONT before SIGTERM to a process it paused, so that a
//     paused process can handle the SIGTERM.
//
// Concurrency: the methods of a Process are safe for concurrent use. Stop,
// Kill and Wait block until the process has exited (Wait: or its ctx is
// done); they may be called any number of times, also after the process
// has exited on its own.
//
// Pause and Resume (SIGSTOP, SIGCONT) and the process-group and
// parent-death options exist on unix only; elsewhere Pause and Resume
// return ErrUnsupported and the options are ignored.
package launch
