// Package memnet is an in-memory peer network for tests: a
// peer.Transport per node, with faults injected by the test — partitions
// and their healing, one-way cuts, delays, and a hook that may fail or
// delay any single call.
//
// Requests and responses are copied, as on a wire. A call to a node that is
// down, partitioned away or cut fails at once with peer.ErrUnreachable
// (a refused connection); a delayed call waits for its delay or ctx.
// A Network is safe for concurrent use.
package memnet

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/dynkv/dynkv/peer"
)

// errNotSent is a refused call: the request never reached the node.
var errNotSent = fmt.Errorf("memnet: %w: %w", peer.ErrUnreachable, peer.ErrNotSent)

// Handler serves one request at a node.
type Handler func(ctx context.Context, req []byte) []byte

// Hook sees every call before it is delivered. A non-nil error fails the
// call with it; a positive delay delays it.
type Hook func(from, to string, req []byte) (delay time.Duration, err error)

// Network connects the nodes registered on it.
type Network struct {
	mu struct {
		sync.Mutex
		handlers map[string]Handler
		group    map[string]int     // partition group of a node; absent = 0
		cut      map[[2]string]bool // from → to cut
		delay    map[string]time.Duration
		hook     Hook
	}
}

// New returns a network with no nodes and no faults.
func New() *Network {
	n := &Network{}
	n.mu.handlers = map[string]Handler{}
	n.mu.group = map[string]int{}
	n.mu.cut = map[[2]string]bool{}
	n.mu.delay = map[string]time.Duration{}
	return n
}

// Register brings node up, served by h.
func (n *Network) Register(node string, h Handler) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.mu.handlers[node] = h
}

// Unregister takes node down: calls to it fail.
func (n *Network) Unregister(node string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	delete(n.mu.handlers, node)
}

// Partition splits the network: nodes in different groups cannot reach each
// other; nodes in no group form one more group together.
func (n *Network) Partition(groups ...[]string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	clear(n.mu.group)
	for i, g := range groups {
		for _, node := range g {
			n.mu.group[node] = i + 1
		}
	}
}

// Cut stops calls from one node to another, in that direction only.
func (n *Network) Cut(from, to string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.mu.cut[[2]string{from, to}] = true
}

// Delay delays every call to node by d (0 removes the delay).
func (n *Network) Delay(node string, d time.Duration) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.mu.delay[node] = d
}

// SetHook installs h (nil removes it).
func (n *Network) SetHook(h Hook) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.mu.hook = h
}

// Heal removes every partition, cut, delay and hook.
func (n *Network) Heal() {
	n.mu.Lock()
	defer n.mu.Unlock()
	clear(n.mu.group)
	clear(n.mu.cut)
	clear(n.mu.delay)
	n.mu.hook = nil
}

// Reachable reports whether a call from one node to another would be
// delivered now (ignoring delays and the hook).
func (n *Network) Reachable(from, to string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	_, up := n.mu.handlers[to]
	return up && n.mu.group[from] == n.mu.group[to] && !n.mu.cut[[2]string{from, to}]
}

// Transport returns the transport node uses to call the others.
func (n *Network) Transport(node string) peer.Transport { return transport{n: n, from: node} }

type transport struct {
	n    *Network
	from string
}

func (t transport) Call(ctx context.Context, to string, req []byte) ([]byte, error) {
	n := t.n
	n.mu.Lock()
	h, up := n.mu.handlers[to]
	ok := up && n.mu.group[t.from] == n.mu.group[to] && !n.mu.cut[[2]string{t.from, to}]
	delay, hook := n.mu.delay[to], n.mu.hook
	n.mu.Unlock()
	if !ok {
		return nil, errNotSent
	}
	if hook != nil {
		d, err := hook(t.from, to, req)
		if err != nil {
			return nil, err
		}
		delay += d
	}
	if delay > 0 {
		timer := time.NewTimer(delay)
		defer timer.Stop()
		select {
		case <-timer.C:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	resp := h(ctx, bytes.Clone(req))
	return bytes.Clone(resp), nil
}
