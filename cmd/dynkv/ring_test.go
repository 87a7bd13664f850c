package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dynkv/dynkv/admin"
	"github.com/dynkv/dynkv/resp"
	"github.com/dynkv/dynkv/resp/resptest"
	"github.com/dynkv/dynkv/ring"
)

// fakeRingCluster is a ring.AdminSource with a fixed view. Its membership
// changes record each call and answer with plan, or with err when set.
type fakeRingCluster struct {
	self    string
	members []admin.Member
	state   ring.State
	active  *ring.Ring // what Ring returns; nil: the ring of state

	plan ring.Plan
	err  error
	mu   struct {
		sync.Mutex
		calls []string // "plan leave n3 0", "leave n3", "join h:1 h:2"
	}
}

func (f *fakeRingCluster) Self() string            { return f.self }
func (f *fakeRingCluster) Members() []admin.Member { return slices.Clone(f.members) }
func (f *fakeRingCluster) State() ring.State       { return f.state }
func (f *fakeRingCluster) Ring() *ring.Ring {
	if f.active != nil {
		return f.active
	}
	r, _ := f.state.Ring()
	return r
}

func (f *fakeRingCluster) Plan(e ring.Event) (ring.Plan, error) {
	return f.call(fmt.Sprintf("plan %s %s %d", e.Kind, e.Node, e.Weight))
}
func (f *fakeRingCluster) Leave(node string) (ring.Plan, error) { return f.call("leave " + node) }
func (f *fakeRingCluster) Forget(node string) error {
	_, err := f.call("forget " + node)
	return err
}
func (f *fakeRingCluster) JoinCluster(seeds []string) (ring.Plan, error) {
	return f.call("join " + strings.Join(seeds, " "))
}

func (f *fakeRingCluster) call(c string) (ring.Plan, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.mu.calls = append(f.mu.calls, c)
	return f.plan, f.err
}

func (f *fakeRingCluster) calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.mu.calls)
}

// serveRing serves a resp.Server over a one-node backend on 127.0.0.1:0,
// with requirepass pw and the Cluster that cluster returns for the server's
// address (nil for none), until the test ends. It returns the address.
func serveRing(t *testing.T, pw string, cluster func(addr string) ring.AdminSource) string {
	t.Helper()
	return serveNode(t, pw, cluster, nil)
}

// serveNode is serveRing with anti-entropy stats ae (nil for none).
func serveNode(t *testing.T, pw string, cluster func(addr string) ring.AdminSource, ae resptest.AntiEntropy) string {
	t.Helper()
	co, st := resptest.Backend(t)
	cfg := resp.DefaultConfig()
	cfg.RequirePass = pw
	srv, err := resp.New(cfg, co, st, testLogger(t))
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var adm resptest.Admin
	if cluster != nil {
		adm.Src = cluster(ln.Addr().String())
	}
	if ae != nil {
		adm.Syncer = ae
	}
	if adm.Src != nil || adm.Syncer != nil {
		srv.SetAdmin(adm)
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
	addr := serveRing(t, "", func(string) ring.AdminSource {
		return &fakeRingCluster{
			self: "n2",
			members: []admin.Member{
				{ID: "n3", Alive: false, ClientAddr: "10.0.0.3:6379", PeerAddr: "10.0.0.3:7379", Partitions: 21, Target: 21, Ready: true},
				{ID: "n1", Alive: true, ClientAddr: "10.0.0.1:6379", Partitions: 22, Target: 22, Ready: true},
				{ID: "n2", Alive: true, ClientAddr: "10.0.0.2:6379", PeerAddr: "10.0.0.2:7379", Partitions: 21, Target: 21, Ready: true},
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
		"NODE  STATUS  CLIENT         PEER           PARTITIONS  TARGET  STATE   READY\n"+
		"n1    alive   10.0.0.1:6379  -              22          22      member  yes\n"+
		"n2*   alive   10.0.0.2:6379  10.0.0.2:7379  21          21      member  yes\n"+
		"n3    down    10.0.0.3:6379  10.0.0.3:7379  21          21      member  yes\n"+
		"ring version: 7  partitions: 64  members: 3 (2 alive)\n", out)
}

func TestRing_NoCluster(t *testing.T) {
	t.Setenv(passwordEnv, "")
	addr := serveRing(t, "", nil)
	code, out, errs := runRing(t, "--addr", addr)
	require.Equal(t, 0, code, errs)
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	require.Len(t, lines, 3, out)
	require.Equal(t, []string{"local*", "alive", addr, "-", "1", "1", "member", "yes"}, strings.Fields(lines[1]))
	require.Equal(t, "ring version: 0  partitions: 1  members: 1 (1 alive)  cluster: off (one node)", lines[2])
}

// TestRing_Membership runs dynkv ring against a server whose Cluster is a
// real one-node ring.Membership gossiping on loopback.
func TestRing_Membership(t *testing.T) {
	t.Setenv(passwordEnv, "")
	var peer string
	addr := serveRing(t, "", func(addr string) ring.AdminSource {
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
	require.Equal(t, []string{"solo*", "alive", addr, peer, "8", "8", "member", "yes"}, strings.Fields(lines[1]))
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

func TestNodeConn_Fail(t *testing.T) {
	c := &nodeConn{verb: "leave", addr: "h:1", timeout: 10 * time.Second}
	require.EqualError(t, c.fail(context.DeadlineExceeded), "leave: h:1 did not answer within 10s")
	other := errors.New("boom")
	require.ErrorIs(t, c.fail(other), other)
	require.EqualError(t, c.fail(other), "leave: h:1: boom")
}

// TestParseRing_Fields: entries of six fields (older nodes) parse, with
// the newer columns shown as "-"; more than nine fields are accepted;
// fewer than six or wrong types are errors.
func TestParseRing_Fields(t *testing.T) {
	six := []any{"n1", "alive", "c:1", "p:1", int64(4), int64(1)}
	nine := append(slices.Clone(six), int64(2), "leaving", int64(0))
	ten := append(slices.Clone(nine), "future")
	ms, err := parseRing([]any{six, nine, ten})
	require.NoError(t, err)
	require.Equal(t, ringMember{id: "n1", status: "alive", client: "c:1", peer: "p:1", partitions: 4, self: true}, ms[0])
	want := ringMember{id: "n1", status: "alive", client: "c:1", peer: "p:1", partitions: 4, self: true,
		extended: true, target: 2, state: "leaving"}
	require.Equal(t, want, ms[1])
	require.Equal(t, want, ms[2])
	var out bytes.Buffer
	require.NoError(t, ringView{members: ms[:2], info: map[string]string{}}.write(&out))
	lines := strings.Split(out.String(), "\n")
	require.Equal(t, []string{"n1*", "alive", "c:1", "p:1", "4", "-", "-", "-"}, strings.Fields(lines[1]))
	require.Equal(t, []string{"n1*", "alive", "c:1", "p:1", "4", "2", "leaving", "no"}, strings.Fields(lines[2]))

	for _, bad := range []any{
		"not an array",
		[]any{six[:5]},
		[]any{append(slices.Clone(six[:6]), "2", "leaving", int64(0))},
	} {
		_, err := parseRing(bad)
		require.Error(t, err, "%v", bad)
	}
}
