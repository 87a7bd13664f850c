// Package itest holds the process-level integration tests of dynkv: they
// build the real binary once per run (TestMain), start it on a free
// loopback port with a temporary data directory, and drive it with real
// clients: go-redis, redis-cli and redis-benchmark. They kill it with
// SIGKILL during writes and stop it with SIGTERM, and check that every
// acknowledged write is there after a restart.
//
// redis-cli and redis-benchmark come from Debian's redis-tools, which
// .ci/run installs. Without them the tests that need them skip loudly on a
// developer's machine and fail when CI is set.
//
// The package has no code outside its tests.
package itest
