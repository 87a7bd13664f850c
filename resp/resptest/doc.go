// Package resptest runs dynkv's RESP front end in tests: Start serves a real
// resp.Server on 127.0.0.1:0 over a real coordinator and a replica.Store on
// an in-memory pebble, all assembled by node.Build as a standalone node (the
// production wiring without a cluster), and Dial opens a raw RESP
// connection for assertions on exact reply bytes. Logs go to t.Log.
//
// Everything a test starts is stopped by t.Cleanup, in reverse order, and
// every wait has a deadline: a broken server fails the test instead of
// hanging it.
package resptest
