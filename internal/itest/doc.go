// Package itest holds the process-level integration tests of dynkv: they
// build the real binary once per run (TestMain), start it on a free
// loopback port with a temporary data directory, and drive it with real
// clients: go-redis, redis-cli and redis-benchmark. They kill it with
// SIGKILL during writes and stop it with SIGTERM, and check that every
// acknowledged write is there after a restart.
//
// The client conformance suite (clients_test.go) runs client libraries with
// their default options, go-redis in this process and the others as the
// Node.js and Python scripts of testdata/clients, against redis-server,
// one dynkv node and a three-node cluster, and judges them against
// testdata/clients/known-differences.txt.
//
// redis-cli and redis-benchmark come from Debian's redis-tools, redis-server
// from redis-server, redis-py from python3-redis and the Node.js clients
// from `npm ci` in testdata/clients/node, all of which .ci/run installs.
// Without them the tests that need them skip loudly on a developer's
// machine and fail when CI is set.
//
// The package has no code outside its tests.
package itest
