package ring

import (
	"errors"
	"net"
	"slices"
	"sync"
	"testing"
	"time"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	for {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		u, err := net.ListenPacket("udp", addr) // memberlist needs both
		if err == nil {
			u.Close()
			return addr
		}
	}
}

func startMember(t *testing.T, id string, seeds []string, secret string, saved []byte, persist func([]byte) error) (*Membership, string) {
	t.Helper()
	addr := freeAddr(t)
	cfg := DefaultGossipConfig()
	cfg.NodeID, cfg.Listen, cfg.Seeds, cfg.Secret, cfg.Local = id, addr, seeds, secret, true
	cfg.Partitions = 64
	cfg.PeerAddr = "peer-of-" + id
	cfg.RejoinInterval = 200 * time.Millisecond
	m, err := Join(cfg, saved, persist)
	if err != nil {
		t.Fatalf("join %s: %v", id, err)
	}
	t.Cleanup(func() { m.Close() })
	return m, addr
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		//lint:ignore NoSleep polling a real network's convergence; the deadline bounds it
		time.Sleep(20 * time.Millisecond)
	}
}

// ringIDs returns the members of m's target ring.
func ringIDs(m *Membership) []string {
	r := m.Target()
	if r == nil {
		return nil
	}
	var ids []string
	for _, n := range r.Nodes() {
		ids = append(ids, n.ID)
	}
	return ids
}

func TestMembership_JoinConvergesAndDownStaysInRing(t *testing.T) {
	var mu sync.Mutex
	saved := map[string][]byte{}
	persist := func(id string) func([]byte) error {
		return func(b []byte) error { mu.Lock(); saved[id] = b; mu.Unlock(); return nil }
	}
	a, seed := startMember(t, "a", nil, "s3cret", nil, persist("a"))
	b, _ := startMember(t, "b", []string{seed}, "s3cret", nil, persist("b"))
	c, _ := startMember(t, "c", []string{seed}, "s3cret", nil, persist("c"))
	all := []*Membership{a, b, c}
	for _, m := range all {
		waitFor(t, m.Self()+" sees 3 members", func() bool { return slices.Equal(ringIDs(m), []string{"a", "b", "c"}) })
	}
	// What each node's anti-entropy does once it has pulled its data.
	for _, m := range all {
		waitFor(t, m.Self()+" flips to 3 members", func() bool {
			for _, o := range all {
				if r := o.Ring(); r.Next() != nil {
					o.Ready(r.NextStamp(), r.Next().Digest())
				}
			}
			return slices.Equal(activeIDs(m), []string{"a", "b", "c"})
		})
	}
	ra, rc := a.Target(), c.Target()
	if !slices.Equal(ra.owners, rc.owners) {
		t.Fatal("nodes computed different rings from the same state")
	}
	waitFor(t, "a sees c's peer address", func() bool { addr, ok := a.PeerAddr("c"); return ok && addr == "peer-of-c" })

	c.Close()
	waitFor(t, "a sees c down", func() bool { return !a.Alive("c") })
	if !slices.Equal(ringIDs(a), []string{"a", "b", "c"}) {
		t.Fatal("a node that is down must stay in the ring")
	}
	mu.Lock()
	st, err := DecodeState(saved["b"])
	mu.Unlock()
	if err != nil || !st.Member("c") {
		t.Fatalf("b persisted no state with c: %v", err)
	}
	if _, err := a.Leave("c"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "b applies c's leave", func() bool { return slices.Equal(ringIDs(b), []string{"a", "b"}) })
}

func TestMembership_WrongSecretCannotJoin(t *testing.T) {
	_, seed := startMember(t, "a", nil, "right", nil, nil)
	cfg := DefaultGossipConfig()
	cfg.NodeID, cfg.Listen, cfg.Seeds, cfg.Secret, cfg.Local, cfg.Partitions = "x", freeAddr(t), []string{seed}, "wrong", true, 64
	if m, err := Join(cfg, nil, nil); err == nil {
		m.Close()
		t.Fatal("a node with the wrong secret joined")
	}
}

// TestMembership_SecretRotation: the three steps of a rotation (install
// the new secret as accepted, use it, remove the old one) keep gossip
// flowing at every step: a node at any step joins through a node at the
// step before or after it.
func TestMembership_SecretRotation(t *testing.T) {
	join := func(id string, seeds []string, secret, accepted string) (*Membership, string) {
		cfg := DefaultGossipConfig()
		cfg.NodeID, cfg.Listen, cfg.Seeds, cfg.Local, cfg.Partitions = id, freeAddr(t), seeds, true, 64
		cfg.Secret, cfg.AcceptedSecret, cfg.PeerAddr = secret, accepted, "peer-of-"+id
		m, err := Join(cfg, nil, nil)
		if err != nil {
			t.Fatalf("join %s: %v", id, err)
		}
		t.Cleanup(func() { m.Close() })
		return m, cfg.Listen
	}
	a, before := join("a", nil, "old", "")                    // not started
	_, installed := join("b", []string{before}, "old", "new") // step 1: install
	_, using := join("c", []string{installed}, "new", "old")  // step 2: use
	join("d", []string{using}, "new", "")                     // step 3: remove
	waitFor(t, "a sees every step", func() bool { return slices.Equal(ringIDs(a), []string{"a", "b", "c", "d"}) })
}

func TestMembership_RestartKeepsRing(t *testing.T) {
	var saved []byte
	a, _ := startMember(t, "a", nil, "", nil, func(b []byte) error { saved = b; return nil })
	a.Close()
	st, err := DecodeState(saved)
	if err != nil || !st.Member("a") {
		t.Fatalf("no saved state: %v", err)
	}
	again, _ := startMember(t, "a", nil, "", saved, nil)
	if got := again.State(); got.Stamp() != st.Stamp() {
		t.Fatalf("restart re-joined: stamp %d, want %d", got.Stamp(), st.Stamp())
	}
}

// activeIDs returns the members of m's active ring.
func activeIDs(m *Membership) []string {
	var ids []string
	if r := m.Ring(); r != nil {
		for _, n := range r.Nodes() {
			ids = append(ids, n.ID)
		}
	}
	return ids
}

func TestMembership_OwnershipFlipsWhenGainersAreReady(t *testing.T) {
	a, seed := startMember(t, "a", nil, "", nil, nil)
	b, _ := startMember(t, "b", []string{seed}, "", nil, nil)
	waitFor(t, "a sees b's join", func() bool { return slices.Equal(ringIDs(a), []string{"a", "b"}) })
	// b gains every partition (N=3 over two nodes): until it says it has
	// the data, a alone owns them.
	for _, m := range []*Membership{a, b} {
		if got := activeIDs(m); !slices.Equal(got, []string{"a"}) {
			t.Fatalf("%s: active ring %v before b is ready, want [a]", m.Self(), got)
		}
		r := m.Ring()
		if r.Next() == nil || !slices.Equal(r.Gainers(r.Next(), 3), []string{"b"}) {
			t.Fatalf("%s: no transfer to b under way", m.Self())
		}
	}
	ms := a.Members()
	if len(ms) != 2 || !ms[1].Joining || ms[1].Ready || ms[1].Partitions != 0 || ms[1].Target == 0 {
		t.Fatalf("a reports b as %+v, want joining, not ready, owning nothing yet", ms[1])
	}
	if _, err := a.Leave("b"); !errors.Is(err, ErrChangeUnderWay) {
		t.Fatalf("a leave while b's join is transferring: %v, want ErrChangeUnderWay", err)
	}
	stamp, digest := b.Ring().NextStamp(), b.Ring().Next().Digest()
	a.Ready(stamp, digest) // a gains nothing: its readiness does not matter
	if got := activeIDs(a); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("a's readiness flipped the ring to %v", got)
	}
	b.Ready(stamp, digest)
	for _, m := range []*Membership{a, b} {
		waitFor(t, m.Self()+" flips to [a b]", func() bool {
			r := m.Ring()
			return slices.Equal(activeIDs(m), []string{"a", "b"}) && r.Next() == nil
		})
	}
	// A leave that gains nobody anything (N=3 > members) flips at once.
	if _, err := a.Leave("b"); err != nil {
		t.Fatal(err)
	}
	if got := activeIDs(a); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("after b left: active %v, want [a]", got)
	}
	if _, err := a.Leave("a"); err == nil {
		t.Fatal("the last member left")
	}
	if _, err := a.Leave("zz"); err == nil {
		t.Fatal("a non-member left")
	}
}
