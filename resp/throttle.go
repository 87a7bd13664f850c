package resp

import (
	"context"
	"net/netip"
	"sync"
	"time"
)

// Failed AUTH (and HELLO AUTH) is throttled twice, so that passwords
// cannot be guessed at the speed of the network:
//
//   - per connection: after k failures in a row, the next attempt waits
//     authConnDelay·2^(k-1), at most authConnMaxDelay;
//   - per source (an IPv4 address, an IPv6 /64): a source may fail
//     authSourceBurst times at once, then once per authSourceEvery; an
//     attempt from a source over its budget waits for it.
//
// The wait comes before the password is checked, and every attempt still
// gets Redis's reply (OK or WRONGPASS) once it is checked. A connection
// waiting counts as busy, not idle; the auth grace still closes it. The
// bound holds over time: several connections of one source waiting at
// once may each try once when the source's budget allows one, and their
// failures then push the source's next attempt further out.
const (
	authConnDelay    = 100 * time.Millisecond
	authConnMaxDelay = 2 * time.Second
	authSourceBurst  = 10
	authSourceEvery  = 200 * time.Millisecond
	// maxAuthSources bounds the sources remembered; beyond it new sources
	// share one budget until the sweeper forgets refilled ones.
	maxAuthSources = 1 << 16
)

// authThrottle holds the failure budgets of sources. It is safe for
// concurrent use; a connection's own count is in its session.
type authThrottle struct {
	mu struct {
		sync.Mutex
		sources map[netip.Prefix]time.Time // by source: when its budget is full again (GCRA's theoretical arrival time)
	}
}

func newAuthThrottle() *authThrottle {
	t := &authThrottle{}
	t.mu.sources = map[netip.Prefix]time.Time{}
	return t
}

// authSource returns the source a client's address is throttled as: the
// IPv4 address, or the IPv6 /64. An address that does not parse is the
// zero Prefix.
func authSource(addr string) netip.Prefix {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return netip.Prefix{}
	}
	ip := ap.Addr().Unmap()
	bits := 32
	if ip.Is6() {
		bits = 64
	}
	p, _ := ip.Prefix(bits)
	return p
}

// delay returns how long client c must wait before its next attempt at
// now.
func (t *authThrottle) delay(c *session, now time.Time) time.Duration {
	var d time.Duration
	if c.authFails > 0 {
		step := authConnDelay << min(c.authFails-1, 16)
		d = c.lastAuthFail.Add(min(step, authConnMaxDelay)).Sub(now)
	}
	t.mu.Lock()
	full, ok := t.mu.sources[t.keyLocked(authSource(c.addr))]
	t.mu.Unlock()
	if ok {
		d = max(d, full.Sub(now)-(authSourceBurst-1)*authSourceEvery)
	}
	return max(d, 0)
}

// failed records a failed attempt of client c at now.
func (t *authThrottle) failed(c *session, now time.Time) {
	c.authFails++
	c.lastAuthFail = now
	t.mu.Lock()
	defer t.mu.Unlock()
	k := t.keyLocked(authSource(c.addr))
	full := t.mu.sources[k]
	if full.Before(now) {
		full = now
	}
	t.mu.sources[k] = full.Add(authSourceEvery)
}

// keyLocked returns the key of source p in sources: p, or the shared zero
// Prefix when sources is full and p is not in it.
// REQUIRES: t.mu held.
func (t *authThrottle) keyLocked(p netip.Prefix) netip.Prefix {
	if _, ok := t.mu.sources[p]; !ok && len(t.mu.sources) >= maxAuthSources {
		return netip.Prefix{}
	}
	return p
}

// prune forgets the sources whose budget is full again at now.
func (t *authThrottle) prune(now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for p, full := range t.mu.sources {
		if !full.After(now) {
			delete(t.mu.sources, p)
		}
	}
}

// sleepCtx waits for d or until ctx is done, whose error it returns.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
