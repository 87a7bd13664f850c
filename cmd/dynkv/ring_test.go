package main

import (
	"bytes"
	"context"
	"errors"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dynkv/dynkv/resp"
	"github.com/dynkv/dynkv/resp/resptest"
	"github.com/dynkv/dynkv/ring"
)

// fakeRingCluster is a resp.Cluster with a fixed view.
type fakeRingCluster struct {
	self    string
	members []ring.Member
	state   ring.State
}

func (f *fakeRingCluster) Self() string           { return f.self }
func (f *fakeRingCluster) Members() []ring.Member { return slices.Clone(f.members) }
func (f *fakeRingCluster) State() ring.State      { return f.state }
func (f *fakeRingCluster) Ring() *ring.Ring {
	r, _ := f.state.Ring()
	return r
}

// The fake refuses every membership change.
func (f *fakeRingCluster) Plan(ring.Event) (ring.Plan, error) { return ring.Plan{}, errFakeRefused }
func (f *fakeRingCluster) Leave(string) (ring.Plan, error)    { return ring.Plan{}, errFakeRefused }
func (f *fakeRingCluster) JoinCluster([]string) (ring.Plan, error) {
	return ring.Plan{}, errFakeRefused
}

var errFakeRefused = errors.New("ring: fake: refused")

// serveRing serves a resp.Server over a one-node backend on 127.0.0.1:0,
// with requirepass pw and the Cluster that cluster returns for the server's
// address (nil for none), until the test ends. It returns the address.
func serveRing(t *testing.T, pw string, cluster func(addr string) resp.Cluster) string {
	t.Helper()
	co, st := resptest.Backend(t)
	cfg := resp.DefaultConfig()
	cfg.RequirePass = pw
	srv, err := resp.New(cfg, co, st, testLogger(t))
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	if cluster != nil {
		if cl := cluster(ln.Addr().String()); cl != nil {
			srv.SetCluster(cl)
		}
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Close(ctx)
		require.ErrorIs(t, <-served, resp.ErrClosed)
	})
	return ln.Addr().String()
}

// runRing runs "dynkv ring" with args and returns its exit code, stdout and
// stderr.
func runRing(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := execute(context.Background(), append([]string{"ring"}, args...), &out, &errb)
	return code, out.String(), errb.String()
}

func TestRing_Table(t *testing.T) {
	t.Setenv(passwordEnv, "")
	addr := serveRing(t, "", func(string) resp.Cluster {
		return &fakeRingCluster{
			self: "n2",
			members: []ring.Member{
				{ID: "n3", Alive: false, ClientAddr: "10.0.0.3:6379", PeerAddr: "10.0.0.3:7379", Partitions: 21},
				{ID: "n1", Alive: true, ClientAddr: "10.0.0.1:6379", Partitions: 22},
				{ID: "n2", Alive: true, ClientAddr: "10.0.0.2:6379", PeerAddr: "10.0.0.2:7379", Partitions: 21},
			},
			state: ring.State{Q: 64, Events: []ring.Event{
				{Stamp: 1, Node: "n1", Kind: ring.EventJoin, Weight: 1},
				{Stamp: 7, Node: "n3", Kind: ring.EventJoin, Weight: 1},
			}},
		}
	})
	code, out, errs := runRing(t, "--addr", addr)
	require.Equal(t, 0, code, errs)
	require.Empty(t, errs)
	require.Equal(t, ""+
		"NODE  STATUS  CLIENT         PEER           PARTITIONS\n"+
		"n1    alive   10.0.0.1:6379  -              22\n"+
		"n2*   alive   10.0.0.2:6379  10.0.0.2:7379  21\n"+
		"n3    down    10.0.0.3:6379  10.0.0.3:7379  21\n"+
		"ring version: 7  partitions: 64  members: 3 (2 alive)\n", out)
}

func TestRing_NoCluster(t *testing.T) {
	t.Setenv(passwordEnv, "")
	addr := serveRing(t, "", nil)
	code, out, errs := runRing(t, "--addr", addr)
	require.Equal(t, 0, code, errs)
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	require.Len(t, lines, 3, out)
	require.Equal(t, []string{"local*", "alive", addr, "-", "1"}, strings.Fields(lines[1]))
	require.Equal(t, "ring version: 0  partitions: 1  members: 1 (1 alive)  cluster: off (one node)", lines[2])
}

// TestRing_Membership runs dynkv ring against a server whose Cluster is a
// real one-node ring.Membership gossiping on loopback.
func TestRing_Membership(t *testing.T) {
	t.Setenv(passwordEnv, "")
	var peer string
	addr := serveRing(t, "", func(addr string) resp.Cluster {
		cfg := ring.DefaultGossipConfig()
		cfg.NodeID, cfg.Listen, cfg.Local, cfg.Partitions = "solo", "127.0.0.1:0", true, 8
		cfg.ClientAddr, cfg.PeerAddr = addr, "127.0.0.1:1"
		peer = cfg.PeerAddr
		m, err := ring.Join(cfg, nil, nil)
		require.NoError(t, err)
		t.Cleanup(func() { _ = m.Close() }) // runs after the server's Close
		return m
	})
	code, out, errs := runRing(t, "--addr", addr)
	require.Equal(t, 0, code, errs)
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	require.Len(t, lines, 3, out)
	require.Equal(t, []string{"solo*", "alive", addr, peer, "8"}, strings.Fields(lines[1]))
	require.Equal(t, "ring version: 1  partitions: 8  members: 1 (1 alive)", lines[2])
}

func TestRing_Auth(t *testing.T) {
	addr := serveRing(t, "s3cret", nil)
	tests := []struct {
		name string
		env  string
		args []string
		code int
		want string // in stdout on success, in stderr on failure
	}{
		{name: "no password", code: 1, want: "dynkv: ring: " + addr + " requires a password: give it with --password or REDISCLI_AUTH\n"},
		{name: "wrong password", args: []string{"--password", "nope"}, code: 1, want: "dynkv: ring: " + addr + " refused the password\n"},
		{name: "password flag", args: []string{"--password", "s3cret"}, want: "local*"},
		{name: "password from env", env: "s3cret", want: "local*"},
		{name: "flag wins over env", env: "nope", args: []string{"--password", "s3cret"}, want: "local*"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(passwordEnv, tt.env)
			code, out, errs := runRing(t, append([]string{"--addr", addr}, tt.args...)...)
			require.Equal(t, tt.code, code, "stdout %q stderr %q", out, errs)
			if tt.code == 0 {
				require.Contains(t, out, tt.want)
				require.Empty(t, errs)
				return
			}
			require.Equal(t, tt.want, errs)
			require.Empty(t, out)
		})
	}
}

func TestRing_Errors(t *testing.T) {
	t.Setenv(passwordEnv, "")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := ln.Addr().String()
	require.NoError(t, ln.Close()) // nothing listens there now

	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{name: "unreachable", args: []string{"--addr", closed}, code: 1, want: "dynkv: ring: cannot reach a node at " + closed + ": "},
		{name: "bad addr", args: []string{"--addr", "localhost"}, code: 2, want: `dynkv: addr: "localhost" is not host:port`},
		{name: "stray argument", args: []string{"n1"}, code: 1, want: `unknown command "n1" for "dynkv ring"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := runRing(t, tt.args...)
			require.Equal(t, tt.code, code, "stdout %q stderr %q", out, errs)
			require.Contains(t, errs, tt.want)
			require.Empty(t, out)
		})
	}
}

func TestRingError_Wrapped(t *testing.T) {
	err := ringError("h:1", context.DeadlineExceeded)
	require.EqualError(t, err, "ring: h:1 did not answer within 10s")
	other := errors.New("boom")
	require.ErrorIs(t, ringError("h:1", other), other)
}
